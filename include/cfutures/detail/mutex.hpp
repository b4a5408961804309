// std::mutex with clang thread-safety annotations (libstdc++'s is not annotated), so that
// CF_GUARDED_BY fields are checked by -Wthread-safety.
#pragma once

#include <mutex>

#include "cfutures/detail/thread_annotations.hpp"

namespace concurrent::futures::detail {

class CF_CAPABILITY("mutex") Mutex {
 public:
  void lock() CF_ACQUIRE() { mutex_.lock(); }
  void unlock() CF_RELEASE() { mutex_.unlock(); }

 private:
  std::mutex mutex_;
};

class CF_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) CF_ACQUIRE(mutex) : mutex_(mutex) { mutex_.lock(); }
  ~MutexLock() CF_RELEASE() { mutex_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mutex_;
};

}  // namespace concurrent::futures::detail
