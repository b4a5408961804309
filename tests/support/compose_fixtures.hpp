// Fixtures of the composition and coroutine tests (tests/compose, tests/coroutine).
//
// - ManualExecutor: a cf::Executor that keeps the tasks it is given until the test runs them
//   (run_all), drops them (drop_all: each is cancelled, as an executor that shuts down with
//   cancel_futures does), or refuses them (refuse_next: schedule throws).
// - InlineExecutor: a cf::Executor that runs each task inside submit().
// - use_count(f): how many references the state of `f` has (handles, links, queue entries).
#pragma once

#include <cfutures/detail/mutex.hpp>
#include <cfutures/detail/thread_annotations.hpp>
#include <cfutures/executor.hpp>
#include <cfutures/future.hpp>
#include <deque>
#include <memory>
#include <stdexcept>
#include <utility>

namespace cftest {

namespace cf = concurrent::futures;

class ManualExecutor : public cf::Executor {
 public:
  // Runs every task given so far (and those they give), in order, in this thread.
  int run_all() {
    int ran = 0;
    while (auto task = pop()) {
      task->run();
      ++ran;
    }
    return ran;
  }
  // Destroys every task given so far without running it (each one's future is cancelled).
  int drop_all() {
    int dropped = 0;
    while (auto task = pop()) ++dropped;
    return dropped;
  }
  // The next schedule() throws std::runtime_error("refused").
  void refuse_next() {
    cf::detail::MutexLock lock(mutex_);
    refuse_ = true;
  }
  std::size_t queued() {
    cf::detail::MutexLock lock(mutex_);
    return tasks_.size();
  }
  int scheduled() {
    cf::detail::MutexLock lock(mutex_);
    return scheduled_;
  }

 protected:
  void schedule(cf::Task task) override {
    cf::detail::MutexLock lock(mutex_);
    if (std::exchange(refuse_, false)) throw std::runtime_error("refused");
    ++scheduled_;
    tasks_.push_back(std::move(task));
  }

 private:
  std::unique_ptr<cf::Task> pop() {
    cf::detail::MutexLock lock(mutex_);
    if (tasks_.empty()) return nullptr;
    auto task = std::make_unique<cf::Task>(std::move(tasks_.front()));
    tasks_.pop_front();
    return task;
  }

  cf::detail::Mutex mutex_;
  std::deque<cf::Task> tasks_ CF_GUARDED_BY(mutex_);
  bool refuse_ CF_GUARDED_BY(mutex_) = false;
  int scheduled_ CF_GUARDED_BY(mutex_) = 0;
};

// An executor that runs each task at once, inside submit().
class InlineExecutor : public cf::Executor {
 protected:
  void schedule(cf::Task task) override { task.run(); }
};

// The reference count of a future's state, read without taking a handle of its own.
template <class F>
std::size_t use_count(const F& future) {
  return cf::detail::HandleAccess::state(future)->use_count();
}

}  // namespace cftest
