// Every message between a pool and its worker processes (the process pool's workers, MPI
// ranks), whatever carries them: the kinds, and an encode/decode pair for each. Transports move
// (kind, id, payload) triples and never look inside a payload; everything about the layout of a
// payload is here (the call's argument and result values are cereal's, see detail/remote/call.hpp).
//
//   kind          direction        id       payload
//   kInit         pool -> worker   0        InitMessage: inherited process state, max calls, initializer call
//   kCall         pool -> worker   job id   CallHeader, then `count` argument tuples (cereal)
//   kQuit         pool -> worker   0        empty: exit with status 0 once the calls before it are done
//   kReply        worker -> pool   job id   `count` outcomes, in order (see ReplyWriter)
//   kInitFailed   worker -> pool   0        the initializer's exception; the worker exits next
//
// An outcome is one tag byte, then the value (kValueOutcome, cereal; nothing for void) or an
// exception record (kErrorOutcome: type, what, origin; re-created on the pool's side).
// Decoders never trust their input: every decode_* returns false (ReplyReader throws
// MalformedMessage) on malformed bytes instead of reading past them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

#include "cfutures/detail/remote/code_ref.hpp"
#include "cfutures/detail/remote/codec.hpp"

namespace concurrent::futures::detail::remote {

enum class Kind : std::uint8_t {
  kInit = 1,
  kCall = 2,
  kQuit = 3,
  kReply = 16,
  kInitFailed = 17,
};

// Which kinds a reader accepts (a bit per kind value).
using KindMask = std::uint32_t;
constexpr KindMask kind_bit(Kind kind) noexcept { return KindMask{1} << (static_cast<unsigned>(kind) & 31u); }
inline constexpr KindMask kRequestKinds = kind_bit(Kind::kInit) | kind_bit(Kind::kCall) | kind_bit(Kind::kQuit);
inline constexpr KindMask kReplyKinds = kind_bit(Kind::kReply) | kind_bit(Kind::kInitFailed);

// A message whose structure is broken (not merely a value that cannot be deserialized): the
// worker that sent it cannot be trusted any more.
class MalformedMessage : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- kInit -------------------------------------------------------------------------------

struct InitMessage {
  std::string inherited;        // the program's state for the worker (process pools), else empty
  std::uint32_t max_calls = 0;  // the worker exits after this many call messages; 0: no limit
  std::string initializer;      // a kCall payload (one call), or empty
};
void encode_init(const InitMessage& message, std::string& out);
bool decode_init(std::string_view in, InitMessage& message) noexcept;

// ---- kCall -------------------------------------------------------------------------------

// The front of a kCall payload. The worker checks `type_hash` against the invoker it finds at
// `invoker` before calling it.
struct CallHeader {
  CodeRef invoker;
  std::uint64_t type_hash = 0;
  CodeRef target;           // the function, for function-pointer callables
  std::uint32_t count = 0;  // calls in this message
  std::uint32_t has_target = 0;
};
// Appends `header` (its count still to come) and returns where finish_call_message writes it.
std::size_t begin_call_message(std::string& out, const CallHeader& header);
// Fills in the count of calls once the last argument tuple is written.
void finish_call_message(std::string& out, std::size_t at, std::uint32_t count) noexcept;
// Splits a kCall payload into its header and its arguments; false if too short.
bool decode_call_header(std::string_view& in, CallHeader& header) noexcept;

// ---- kReply ------------------------------------------------------------------------------

inline constexpr std::uint8_t kValueOutcome = 0;
inline constexpr std::uint8_t kErrorOutcome = 1;

// Writes a reply's outcomes (worker side).
class ReplyWriter {
 public:
  explicit ReplyWriter(std::string& out) : out_(out), encoder_(out) {}
  // Starts a value outcome; the value follows through archive().
  void begin_value() {
    mark_ = out_.size();
    out_.push_back(static_cast<char>(kValueOutcome));
  }
  cereal::BinaryOutputArchive& archive() noexcept { return encoder_.archive(); }
  // Replaces the value outcome begun last (whose encoding threw) by an error outcome.
  void replace_value(std::exception_ptr error, std::string_view site) {
    out_.resize(mark_);
    put_error(std::move(error), site);
  }
  // Appends an error outcome: the exception, and where it was raised.
  void put_error(std::exception_ptr error, std::string_view site);

 private:
  std::string& out_;
  Encoder encoder_;
  std::size_t mark_ = 0;
};

// Reads a reply's outcomes (pool side). Throws MalformedMessage where the outcomes' structure is
// broken; a value's own bytes are cereal's, which throws cereal::Exception on bad ones.
class ReplyReader {
 public:
  explicit ReplyReader(std::string_view payload) : decoder_(payload) {}
  // Reads the next outcome's tag: true for a value (read it through archive()), false for an
  // exception (take it with take_error()).
  bool next_is_value();
  cereal::BinaryInputArchive& archive() noexcept { return decoder_.archive(); }
  std::exception_ptr take_error();
  // True when every byte was read.
  bool at_end() const noexcept { return decoder_.remaining().empty(); }
  // Gives up on the rest (after a value that could not be read, where the next one starts is
  // unknown).
  void skip_rest() noexcept { decoder_.consume(decoder_.remaining().size()); }

 private:
  Decoder decoder_;
};

// ---- kInitFailed -----------------------------------------------------------------------------

void encode_init_failed(std::exception_ptr error, std::string_view site, std::string& out);
// The initializer's exception as "Type: what"; false if malformed.
bool decode_init_failed(std::string_view in, std::string& description) noexcept;

}  // namespace concurrent::futures::detail::remote
