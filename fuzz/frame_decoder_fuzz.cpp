// libFuzzer target: the process pool's decoding of what a worker writes. The input is the
// content of a reply ring (and where its tail points); every complete message is then parsed
// as the pool parses replies: tag byte, exception record, re-created exception. Nothing
// may crash, hang or leak, whatever the bytes.
//
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//     fuzz/frame_decoder_fuzz.cpp src/process/wire.cpp src/process/exceptions.cpp \
//     src/state.cpp src/futex.cpp -o frame_decoder_fuzz
//   ./frame_decoder_fuzz -max_total_time=60 fuzz/corpus
// (also built and run for a few seconds by the test suite when clang++ is available).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string_view>
#include <vector>

#include "cfutures/detail/process/exception_record.hpp"
#include "cfutures/detail/process/wire.hpp"

namespace pr = concurrent::futures::detail::process;

namespace {

void parse_reply(std::string_view payload) {
  if (payload.empty()) return;
  const auto tag = static_cast<std::uint8_t>(payload[0]);
  payload.remove_prefix(1);
  if (tag != 1) return;  // values are decoded by cereal for a known type, under try/catch
  pr::ExceptionRecord record;
  if (pr::decode_exception(payload, record)) {
    const std::exception_ptr error = pr::rebuild_exception(record);
    try {
      std::rethrow_exception(error);
    } catch (...) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::uint32_t kCapacity = 4096;
  if (size < 2) return 0;
  // The first two bytes choose the tail (how much the "worker" claims to have written).
  const std::uint64_t tail = std::uint64_t{data[0]} << 8 | data[1];
  data += 2;
  size -= 2;

  pr::RingControl control;
  std::vector<unsigned char> ring(kCapacity);
  std::memcpy(ring.data(), data, size < kCapacity ? size : kCapacity);
  control.tail.store(tail);
  pr::FrameReader reader(pr::RingView{&control, ring.data(), kCapacity}, pr::kReplyKinds, 1 << 20);
  pr::FrameReader::Message message;
  for (int i = 0; i < 1000 && reader.next(message) == pr::FrameReader::Status::kMessage; ++i) {
    if (message.kind == pr::Kind::kReply) {
      parse_reply(message.payload);
    } else {
      pr::ExceptionRecord record;
      (void)pr::decode_exception(message.payload, record);
    }
  }
  // The same bytes as an exception record on their own.
  pr::ExceptionRecord record;
  if (pr::decode_exception(std::string_view(reinterpret_cast<const char*>(data), size), record)) {
    (void)pr::rebuild_exception(record);
  }
  return 0;
}
