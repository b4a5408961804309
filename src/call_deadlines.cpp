#include "call_deadlines.hpp"

#include <pthread.h>

#include <exception>

#include "cfutures/detail/futex.hpp"
#include "cfutures/errors.hpp"
#include "durations.hpp"

namespace concurrent::futures::detail {

void CallDeadlines::Shared::wake() noexcept {
  changes.fetch_add(1, std::memory_order_release);
  futex_wake_all(changes);
}

CallDeadlines::~CallDeadlines() {
  std::thread thread;
  std::map<Ticket, Armed> dropped;
  {
    MutexLock lock(shared_->mutex);
    shared_->stopping = true;
    thread = std::move(thread_);
    dropped.swap(shared_->armed);
  }
  shared_->wake();
  for (auto& [ticket, armed] : dropped) armed.task->release();
  if (!thread.joinable()) return;
  if (thread.get_id() == std::this_thread::get_id()) {
    thread.detach();  // destroyed by a callback that an expiry ran: the thread ends on return
  } else {
    thread.join();
  }
}

CallDeadlines::Ticket CallDeadlines::arm(TaskNode& task, std::chrono::nanoseconds timeout) {
  MutexLock lock(shared_->mutex);
  if (!thread_.joinable()) {
    thread_ = std::thread([shared = shared_, name = thread_name_] {
      pthread_setname_np(pthread_self(), name.c_str());
      timer_main(shared);
    });
  }
  const Ticket ticket{Clock::now() + timeout, shared_->next_id++};
  const bool earliest = shared_->armed.empty() || ticket < shared_->armed.begin()->first;
  shared_->armed.emplace(ticket, Armed{&task, timeout});
  task.state().retain();
  if (earliest) shared_->wake();
  return ticket;
}

void CallDeadlines::disarm(const Ticket& ticket) noexcept {
  TaskNode* task = nullptr;
  {
    MutexLock lock(shared_->mutex);
    const auto it = shared_->armed.find(ticket);
    if (it == shared_->armed.end()) return;  // expired already
    task = it->second.task;
    shared_->armed.erase(it);
  }
  task->release();  // outside the lock: it may free the task
}

void CallDeadlines::timer_main(const std::shared_ptr<Shared>& shared) {
  for (;;) {
    const std::uint32_t seen = shared->changes.load(std::memory_order_acquire);
    Clock::time_point next = Clock::time_point::max();
    Armed expired{nullptr, {}};
    {
      MutexLock lock(shared->mutex);
      if (shared->stopping) return;
      if (!shared->armed.empty()) {
        const auto first = shared->armed.begin();
        if (first->first.first <= Clock::now()) {
          expired = first->second;
          shared->armed.erase(first);
        } else {
          next = first->first.first;
        }
      }
    }
    if (expired.task != nullptr) {
      expire(expired);  // outside the lock: it runs the future's callbacks
    } else if (next == Clock::time_point::max()) {
      futex_wait(shared->changes, seen);
    } else {
      futex_wait_until(shared->changes, seen, next);
    }
  }
}

void CallDeadlines::expire(const Armed& armed) noexcept {
  TaskNode& task = *armed.task;
  StateBase& state = task.state();
  task.request_stop();  // first: whoever sees the TimeoutError sees stop_requested() too
  if (state.try_claim()) {
    std::exception_ptr error;
    try {
      error = std::make_exception_ptr(TimeoutError(
          "the call ran past its timeout of " + format_duration(armed.timeout) + " (CallOptions::timeout); " +
          (task.stoppable() ? "it was asked to stop through its std::stop_token"
                            : "it takes no std::stop_token, so it runs on in its thread")));
    } catch (...) {  // no memory for the message
      error = std::make_exception_ptr(TimeoutError());
    }
    state.publish_exception(std::move(error));
  }
  task.release();
}

}  // namespace concurrent::futures::detail
