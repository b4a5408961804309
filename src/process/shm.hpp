// One worker's shared memory: a header with the two rings' control blocks, then the request
// ring (pool -> worker) and the reply ring (worker -> pool). It is a memfd (anonymous, no
// name in /dev/shm), created by the pool and passed to the worker through the fork server
// over a socketpair, so only the pool and that worker can map it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "process/wire.hpp"

namespace concurrent::futures::detail::process {

inline constexpr std::uint64_t kRegionMagic = 0xCFC0FFEE5EED0001ull;
inline constexpr std::uint32_t kRingBytes = 256 * 1024;

struct SharedHeader {
  std::uint64_t magic = kRegionMagic;
  std::uint32_t ring_bytes = kRingBytes;
  RingControl request;
  RingControl reply;
  // Set by the pool's reply thread before it sleeps in poll(): a worker that publishes a
  // reply (or frees request space the pool waits for) and finds it set clears it and writes
  // the pool's eventfd.
  alignas(64) std::atomic<std::uint32_t> pool_sleeping{0};
};

// Layout: the header, padded to a page, then the request ring, then the reply ring.
inline constexpr std::size_t kHeaderBytes = (sizeof(SharedHeader) + 4095) & ~std::size_t{4095};
inline constexpr std::size_t kRegionBytes = kHeaderBytes + 2 * std::size_t{kRingBytes};

class SharedRegion {
 public:
  SharedRegion() = default;
  SharedRegion(SharedRegion&& other) noexcept;
  SharedRegion& operator=(SharedRegion&& other) noexcept;
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;
  ~SharedRegion();

  // A new zeroed region with an initialized header (pool side). Throws std::system_error.
  static SharedRegion create();
  // Maps the region in `fd` (worker side); false if it is not a valid region.
  bool attach(int fd) noexcept;

  int fd() const noexcept { return fd_; }
  // Closes the descriptor; the mapping stays.
  void close_fd() noexcept;
  SharedHeader* header() const noexcept { return header_; }
  RingView request() const noexcept;
  RingView reply() const noexcept;

 private:
  void release() noexcept;
  int fd_ = -1;
  void* base_ = nullptr;
  std::size_t size_ = 0;
  SharedHeader* header_ = nullptr;
};

// futex(2) on a word in shared memory (no FUTEX_PRIVATE_FLAG: the waker is another process).
// Waits at most `timeout_ms` (< 0: no limit); spurious returns are allowed.
void shared_futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected, int timeout_ms) noexcept;
void shared_futex_wake(const std::atomic<std::uint32_t>& word) noexcept;

// Wakes the consumer of `ring` if it sleeps (after the producer published).
inline void wake_consumer(RingControl& ring) noexcept {
  if (ring.consumer_sleeping.load(std::memory_order_seq_cst) != 0) {
    ring.data_bell.fetch_add(1, std::memory_order_seq_cst);
    shared_futex_wake(ring.data_bell);
  }
}

}  // namespace concurrent::futures::detail::process
