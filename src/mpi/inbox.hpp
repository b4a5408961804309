// Where the MPI communication engine (engine.hpp) hands what it received to the thread that
// consumes it: the manager thread of an executor (its transport's poll) or a worker rank's serve
// loop. One consumer, any number of producers (in practice the engine thread, and wake()).
//
// Waiting spins for a bounded time (a round trip in flight answers within microseconds), then
// sleeps on a futex until a delivery, a wake() or the deadline, so an idle consumer burns no CPU.
//
// Example:
//   auto inbox = std::make_shared<Inbox>();
//   engine->listen(comm, inbox);
//   std::vector<Delivery> got;
//   inbox->take(got, std::chrono::steady_clock::now() + std::chrono::seconds(1));
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cfutures/detail/spin_lock.hpp"
#include "cfutures/detail/thread_annotations.hpp"

namespace concurrent::futures::detail::mpi {

// One thing the engine received for a communicator.
struct Delivery {
  enum class Kind : std::uint8_t {
    kMessage,  // `bytes` arrived from `rank` with `tag`
    kFault,    // MPI failed on this communicator (`bytes` says how; `rank` is the peer if known,
               // else -1); the engine no longer listens to it
  };
  Kind kind = Kind::kMessage;
  int rank = -1;
  int tag = -1;
  std::string bytes;
};

class Inbox {
 public:
  // Adds a delivery and wakes the consumer. Any thread.
  void put(Delivery delivery);

  // Moves every delivery to the end of `out`, in arrival order. If there is none, waits until
  // there is one, wake() was called (since the last take), or `deadline` passes; returns at once
  // if wake() was called before. Returns true if it took something. The consumer thread only.
  bool take(std::vector<Delivery>& out, std::chrono::steady_clock::time_point deadline);

  // Makes the consumer's take return now (or its next take, if it is not waiting). Any thread.
  void wake() noexcept;

 private:
  bool take_ready(std::vector<Delivery>& out);

  SpinLock lock_;
  std::vector<Delivery> items_ CF_GUARDED_BY(lock_);
  bool woken_ CF_GUARDED_BY(lock_) = false;
  std::atomic<std::uint32_t> sequence_{0};  // bumped by every put and wake: the futex word
  std::atomic<bool> sleeping_{false};       // the consumer may be in futex_wait: wake it
};

}  // namespace concurrent::futures::detail::mpi
