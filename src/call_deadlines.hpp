// The deadlines of a thread pool's running calls (CallOptions::timeout): one thread, started at
// the first deadline, that fails a call's future with TimeoutError once its deadline passes and
// asks the call to stop if it takes a std::stop_token. The call's thread is not interrupted:
// it runs on, and its late result is dropped (its future is already done).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "cfutures/detail/mutex.hpp"
#include "cfutures/detail/task.hpp"
#include "cfutures/detail/thread_annotations.hpp"

namespace concurrent::futures::detail {

class CallDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  // What arm() returns and disarm() takes.
  using Ticket = std::pair<Clock::time_point, std::uint64_t>;

  // `thread_name`: the name of the timer thread (at most 15 characters).
  explicit CallDeadlines(std::string thread_name) : thread_name_(std::move(thread_name)) {}
  CallDeadlines(const CallDeadlines&) = delete;
  CallDeadlines& operator=(const CallDeadlines&) = delete;
  // Ends and joins the timer thread; deadlines still armed are dropped (their calls go on).
  ~CallDeadlines();

  // Arms the deadline of `task`, whose call starts now and may run for `timeout`: the task is
  // retained until disarm() or the deadline. Throws std::system_error if the timer thread
  // cannot start.
  Ticket arm(TaskNode& task, std::chrono::nanoseconds timeout);
  // Disarms a deadline that has not passed yet (nothing if it has).
  void disarm(const Ticket& ticket) noexcept;

 private:
  struct Armed {
    TaskNode* task;
    std::chrono::nanoseconds timeout;
  };
  // Shared with the timer thread, which may outlive this object by a moment: a future's
  // callback run by an expiry may destroy the pool, and so this object, on that thread.
  struct Shared {
    Mutex mutex;
    std::map<Ticket, Armed> armed CF_GUARDED_BY(mutex);
    std::uint64_t next_id CF_GUARDED_BY(mutex) = 0;
    bool stopping CF_GUARDED_BY(mutex) = false;
    std::atomic<std::uint32_t> changes{0};  // futex word of the timer thread: bumped when it must look again
    void wake() noexcept;
  };
  static void timer_main(const std::shared_ptr<Shared>& shared);
  static void expire(const Armed& armed) noexcept;

  const std::string thread_name_;
  const std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  std::thread thread_ CF_GUARDED_BY(shared_->mutex);
};

}  // namespace concurrent::futures::detail
