// Shared fixtures for the core tests (tests/future, wait, as_completed, executor, thread_pool).
//
// - make_future(FState): CPython's util.create_future fixtures (PENDING_FUTURE, RUNNING_FUTURE,
//   CANCELLED_FUTURE, CANCELLED_AND_NOTIFIED_FUTURE, SUCCESSFUL_FUTURE, EXCEPTION_FUTURE), built
//   through the public transitions instead of poking a private state field.
// - Gate: a one-shot barrier that blocking tasks wait on; it opens at the latest when it is
//   destroyed, so a failing assertion never leaves a pool joined on a blocked task.
// - Counter: counts events and lets a thread wait for a number of them (atomic wait, no sleep).
// - occupy_workers(): makes a pool's workers busy so that later submissions stay queued.
// - elapsed(): wall time of a call, for the tests whose subject is time (timeouts).
#pragma once

#include <pthread.h>

#include <atomic>
#include <cfutures/errors.hpp>
#include <cfutures/executor.hpp>
#include <cfutures/future.hpp>
#include <cfutures/thread_pool.hpp>
#include <cfutures/wait.hpp>
#include <chrono>
#include <exception>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace cftest {

namespace cf = concurrent::futures;

// The states of CPython's test fixtures. CancelledNotified is a cancelled future that went
// through set_running_or_notify_cancel (Python's CANCELLED_AND_NOTIFIED); Failed is Python's
// EXCEPTION_FUTURE (FINISHED with an exception).
enum class FState { Pending, Running, Cancelled, CancelledNotified, Finished, Failed };

inline const char* name_of(FState s) {
  switch (s) {
    case FState::Pending:
      return "Pending";
    case FState::Running:
      return "Running";
    case FState::Cancelled:
      return "Cancelled";
    case FState::CancelledNotified:
      return "CancelledNotified";
    case FState::Finished:
      return "Finished";
    case FState::Failed:
      return "Failed";
  }
  return "?";
}

inline constexpr FState kAllStates[] = {FState::Pending,           FState::Running,  FState::Cancelled,
                                        FState::CancelledNotified, FState::Finished, FState::Failed};

// The exception of EXCEPTION_FUTURE (Python uses OSError()).
struct OSError : std::runtime_error {
  OSError() : std::runtime_error("OSError") {}
};

// A Future<int> in state `s`; a finished one holds 42 (SUCCESSFUL_FUTURE), a failed one OSError.
inline cf::Future<int> make_future(FState s) {
  cf::Future<int> f;
  switch (s) {
    case FState::Pending:
      break;
    case FState::Running:
      f.set_running_or_notify_cancel();
      break;
    case FState::Cancelled:
      f.cancel();
      break;
    case FState::CancelledNotified:
      f.cancel();
      f.set_running_or_notify_cancel();
      break;
    case FState::Finished:
      f.set_result(42);
      break;
    case FState::Failed:
      f.set_exception(std::make_exception_ptr(OSError()));
      break;
  }
  return f;
}

// A one-shot gate. Tasks capture waiter() (which shares ownership of the latch, so the gate
// may be destroyed while they still wait); open() releases them all. Declare a Gate after the
// executor whose tasks wait on it: it is destroyed (and opened) first, before the executor
// joins its workers.
class Gate {
 public:
  Gate() : latch_(std::make_shared<std::latch>(1)) {}
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  ~Gate() { open(); }

  void open() {
    if (!opened_.exchange(true)) latch_->count_down();
  }
  void wait() const { latch_->wait(); }
  // A callable that blocks until the gate opens.
  auto waiter() const {
    return [latch = latch_] { latch->wait(); };
  }

 private:
  std::shared_ptr<std::latch> latch_;
  std::atomic<bool> opened_{false};
};

// Counts events; wait_for(n) blocks until at least n happened.
class Counter {
 public:
  void add(int n = 1) {
    count_.fetch_add(n, std::memory_order_acq_rel);
    count_.notify_all();
  }
  int value() const { return count_.load(std::memory_order_acquire); }
  void wait_for(int target) const {
    for (int seen = value(); seen < target; seen = value()) count_.wait(seen, std::memory_order_acquire);
  }

 private:
  std::atomic<int> count_{0};
};

// Makes `workers` of `executor`'s workers busy: submits that many tasks blocking on `gate` and
// waits until all of them run, so that what is submitted next stays queued until the gate
// opens. Returns the blocking tasks' futures.
template <class Executor>
std::vector<cf::Future<void>> occupy_workers(Executor& executor, const Gate& gate, int workers = 1) {
  auto started = std::make_shared<Counter>();
  std::vector<cf::Future<void>> blockers;
  for (int i = 0; i < workers; ++i) {
    blockers.push_back(executor.submit([started, wait = gate.waiter()] {
      started->add();
      wait();
    }));
  }
  started->wait_for(workers);
  return blockers;
}

// Wall time taken by `fn()`.
template <class Fn>
std::chrono::steady_clock::duration elapsed(Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  std::forward<Fn>(fn)();
  return std::chrono::steady_clock::now() - start;
}

// The OS name of the calling thread (at most 15 characters on Linux).
inline std::string current_thread_name() {
  char buffer[64] = {};
  pthread_getname_np(pthread_self(), buffer, sizeof buffer);
  return buffer;
}

// The message of the exception in `error` (empty for a non-std exception).
inline std::string what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return {};
  }
}

// Reads a whole map range (or any input range) into a vector.
template <class Range>
auto collect(Range&& range) {
  std::vector<typename std::remove_cvref_t<Range>::value_type> out;
  for (auto&& value : range) out.push_back(std::move(value));
  return out;
}

}  // namespace cftest
