// The process pool's frames: messages (detail/remote/messages.hpp) cut into frames in
// single-producer single-consumer byte rings that live in shared memory (one region per
// worker; see docs/process-pool.md).
//
// A message (kind, id, payload of any size) travels as one or more fragments. Each fragment
// is a 24-byte header followed by at most kMaxFragment payload bytes, padded to 8 bytes, and
// is published whole (the producer advances `tail` after writing it). The header carries a
// magic number, a hash of itself and a hash of the fragment's payload.
//
// Nothing read from shared memory is trusted: the reader copies each header and payload into
// private memory before checking it, and any inconsistency (indices out of range, a bad
// magic or hash, a kind not allowed in that direction, a fragment out of sequence) is
// reported as kCorrupt. The pool treats a worker whose ring is corrupt as dead. This reader
// is what fuzz/frame_decoder_fuzz.cpp exercises.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cfutures/detail/remote/messages.hpp"
#include "hash_bytes.hpp"
#include "remote/transport.hpp"

namespace concurrent::futures::detail::process {

using remote::Kind;
using remote::kind_bit;
using remote::KindMask;
using remote::kReplyKinds;
using remote::kRequestKinds;

inline constexpr std::uint32_t kFrameMagic = 0xCF5Au;
inline constexpr std::uint8_t kFirstFragment = 1;
inline constexpr std::uint8_t kLastFragment = 2;
inline constexpr std::uint32_t kMaxFragment = 64 * 1024;
inline constexpr std::size_t kFrameAlign = 8;

struct FrameHeader {
  std::uint32_t tag;     // kFrameMagic << 16 | kind << 8 | fragment flags
  std::uint32_t length;  // payload bytes in this fragment
  std::uint64_t id;      // message id (the pool's job id; 0 for control messages)
  std::uint32_t payload_hash;
  std::uint32_t header_hash;  // hash_bytes of the 20 bytes above
};
static_assert(sizeof(FrameHeader) == 24);

constexpr std::size_t frame_size(std::size_t payload) noexcept {
  return (sizeof(FrameHeader) + payload + kFrameAlign - 1) & ~(kFrameAlign - 1);
}

// The control block of one ring. Positions are byte counters that only grow; the data array
// has a power-of-two capacity and position p lives at p % capacity.
//
// Sleeping and waking are Dekker handshakes ("I publish, then look whether you sleep" against
// "I say I sleep, then look whether something was published"): every position and flag is
// accessed seq_cst, which orders each side's store before its load without fences (which
// ThreadSanitizer does not model).
struct RingControl {
  alignas(64) std::atomic<std::uint64_t> tail{0};  // written by the producer
  alignas(64) std::atomic<std::uint64_t> head{0};  // written by the consumer
  // The consumer sleeps on data_bell after setting consumer_sleeping; a producer that
  // publishes and sees consumer_sleeping bumps the bell and wakes it.
  alignas(64) std::atomic<std::uint32_t> data_bell{0};
  std::atomic<std::uint32_t> consumer_sleeping{0};
  // A producer that found the ring full sets producer_waiting (and may sleep on space_bell);
  // a consumer that frees space and sees it bumps the bell and wakes it.
  alignas(64) std::atomic<std::uint32_t> space_bell{0};
  std::atomic<std::uint32_t> producer_waiting{0};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<std::uint32_t>::is_always_lock_free,
              "ring atomics must be address-free to work across processes");

struct RingView {
  RingControl* control = nullptr;
  unsigned char* data = nullptr;
  std::uint32_t capacity = 0;  // a power of two, at least 2 * frame_size(kMaxFragment)
};

// Producer side of a ring. Not thread-safe: one producer (or a lock around it).
class FrameWriter {
 public:
  // How far a message has been written (kept by the caller between partial writes).
  using Progress = remote::SendProgress;
  enum class Status { kDone, kFull, kCorrupt };

  FrameWriter() = default;
  explicit FrameWriter(RingView ring) noexcept;

  // Writes as many whole fragments of the message as fit, publishing each, and returns kDone
  // once the last fragment is out, kFull if the ring filled first (call again later with the
  // same `progress`), or kCorrupt if the consumer's head is impossible.
  Status write(Kind kind, std::uint64_t id, std::string_view payload, Progress& progress) noexcept;
  // Bytes free in the ring now (the consumer may free more at any time).
  std::uint64_t free_bytes() const noexcept;
  // Bytes written so far (the ring's tail).
  std::uint64_t position() const noexcept { return tail_; }

 private:
  RingView ring_;
  std::uint64_t tail_ = 0;  // private copy: the shared one is only ever written from here
};

// Consumer side of a ring. Not thread-safe: one consumer.
class FrameReader {
 public:
  enum class Status { kEmpty, kMessage, kCorrupt };
  struct Message {
    Kind kind{};
    std::uint64_t id = 0;
    std::string payload;
  };

  FrameReader() = default;
  // `allowed`: the kinds this direction may carry. `max_message`: the largest payload accepted.
  FrameReader(RingView ring, KindMask allowed, std::uint64_t max_message = ~std::uint64_t{0}) noexcept;

  // Consumes fragments until a whole message is available (kMessage, moved into `out`), the
  // ring has no further complete fragment (kEmpty; a partial message is kept for later), or
  // the stream is invalid (kCorrupt; the reader stays corrupt). Space is released to the
  // producer fragment by fragment.
  Status next(Message& out);
  // True if the producer has published bytes not consumed yet (a cheap check for spinning).
  bool has_data() const noexcept { return ring_.control->tail.load(std::memory_order_seq_cst) != head_; }

 private:
  void copy_out(std::uint64_t position, void* to, std::size_t size) const noexcept;

  RingView ring_;
  KindMask allowed_ = 0;
  std::uint64_t max_message_ = 0;
  std::uint64_t head_ = 0;
  bool corrupt_ = false;
  bool in_message_ = false;
  Kind kind_{};
  std::uint64_t id_ = 0;
  std::string partial_;
};

}  // namespace concurrent::futures::detail::process
