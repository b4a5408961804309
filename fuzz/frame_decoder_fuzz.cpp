// libFuzzer target: everything a pool decodes of what a worker writes, and everything a worker
// decodes of what a pool writes. The input's first byte chooses the mode:
//   even: the rest is the content of a reply ring (its next two bytes say where the tail
//         points); every complete message is then decoded as the pool decodes it (a reply's
//         outcomes, values read as ints; an initializer's error);
//   odd:  the rest is one payload, given to each message decoder of detail/remote/messages.hpp
//         in turn (kInit, a kCall header, kInitFailed, a reply's outcomes, an exception record).
// Nothing may crash, hang or leak, whatever the bytes.
//
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
//     fuzz/frame_decoder_fuzz.cpp src/process/wire.cpp src/remote/exceptions.cpp \
//     src/remote/messages.cpp src/hash_bytes.cpp src/state.cpp src/futex.cpp -o frame_decoder_fuzz
//   ./frame_decoder_fuzz -max_total_time=60 fuzz/corpus
// (also built and run for a few seconds by the test suite when clang++ is available).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "cfutures/detail/remote/messages.hpp"
#include "process/wire.hpp"
#include "remote/exception_record.hpp"

namespace pr = concurrent::futures::detail::process;
namespace rm = concurrent::futures::detail::remote;

namespace {

// Reads a reply's outcomes as the pool does, with int values, until the bytes run out.
void read_outcomes(std::string_view payload) {
  try {
    rm::ReplyReader reader(payload);
    for (int i = 0; i < 1000 && !reader.at_end(); ++i) {
      if (reader.next_is_value()) {
        int value = 0;
        reader.archive()(value);
      } else {
        try {
          std::rethrow_exception(reader.take_error());
        } catch (...) {
        }
      }
    }
  } catch (...) {  // MalformedMessage, or cereal running out of bytes
  }
}

void decode_each(std::string_view payload) {
  rm::InitMessage init;
  (void)rm::decode_init(payload, init);
  std::string_view call = payload;
  rm::CallHeader header;
  (void)rm::decode_call_header(call, header);
  std::string description;
  (void)rm::decode_init_failed(payload, description);
  read_outcomes(payload);
  std::string_view record_bytes = payload;
  rm::ExceptionRecord record;
  if (rm::decode_exception(record_bytes, record)) (void)rm::rebuild_exception(record);
}

void decode_ring(const std::uint8_t* data, std::size_t size) {
  constexpr std::uint32_t kCapacity = 4096;
  if (size < 2) return;
  const std::uint64_t tail = std::uint64_t{data[0]} << 8 | data[1];
  data += 2;
  size -= 2;
  pr::RingControl control;
  std::vector<unsigned char> ring(kCapacity);
  std::memcpy(ring.data(), data, size < kCapacity ? size : kCapacity);
  control.tail.store(tail);
  pr::FrameReader reader(pr::RingView{&control, ring.data(), kCapacity}, rm::kReplyKinds, 1 << 20);
  pr::FrameReader::Message message;
  for (int i = 0; i < 1000 && reader.next(message) == pr::FrameReader::Status::kMessage; ++i) {
    if (message.kind == rm::Kind::kReply) {
      read_outcomes(message.payload);
    } else {
      std::string description;
      (void)rm::decode_init_failed(message.payload, description);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  if ((data[0] & 1) == 0) {
    decode_ring(data + 1, size - 1);
  } else {
    decode_each(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  }
  return 0;
}
