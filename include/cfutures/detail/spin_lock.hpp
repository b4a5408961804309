// A one-byte lock for short critical sections off the hot path (a future's callback and
// waiter lists). It spins briefly, then yields; holders never block while holding it.
#pragma once

#include <atomic>

#include "cfutures/detail/futex.hpp"
#include "cfutures/detail/thread_annotations.hpp"

namespace concurrent::futures::detail {

class CF_CAPABILITY("mutex") SpinLock {
 public:
  void lock() noexcept CF_ACQUIRE() {
    for (int i = 1; locked_.exchange(true, std::memory_order_acquire); ++i) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (++i % kYieldEvery == 0) {
          yield_now();
        } else {
          cpu_relax();
        }
      }
    }
  }
  void unlock() noexcept CF_RELEASE() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

class CF_SCOPED_CAPABILITY SpinGuard {
 public:
  explicit SpinGuard(SpinLock& lock) noexcept CF_ACQUIRE(lock) : lock_(lock) { lock_.lock(); }
  ~SpinGuard() CF_RELEASE() { lock_.unlock(); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace concurrent::futures::detail
