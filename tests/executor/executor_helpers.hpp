// Helpers for the Executor tests: two custom executors built only on schedule(cf::Task), and
// a counting input range (endless or bounded) whose iterator counts how many items were read.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core_fixtures.hpp"

namespace extest {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

// Runs every task at once, in the submitting thread (API.md: "A new class of executor derives
// from cf::Executor and implements one protected virtual that takes a type-erased task").
class InlineExecutor : public cf::Executor {
 protected:
  void schedule(cf::Task task) override { task.run(); }
};

// Keeps the tasks until the test runs or drops them.
class ManualExecutor : public cf::Executor {
 public:
  std::size_t queued() {
    std::lock_guard lock(mutex_);
    return tasks_.size();
  }
  // Runs the oldest task; false if none.
  bool run_one() {
    std::optional<cf::Task> task;
    {
      std::lock_guard lock(mutex_);
      if (tasks_.empty()) return false;
      task.emplace(std::move(tasks_.front()));
      tasks_.pop_front();
    }
    task->run();
    return true;
  }
  void run_all() {
    while (run_one()) {
    }
  }
  // Destroys every queued task without running it.
  void drop_all() {
    std::deque<cf::Task> tasks;
    std::lock_guard lock(mutex_);
    tasks.swap(tasks_);
  }
  // Accepts `n` more tasks, then makes schedule() throw (refusing them); -1: no limit.
  void refuse_after(int n) { accept_ = n; }

 protected:
  void schedule(cf::Task task) override {
    if (accept_ == 0) throw std::runtime_error("refused");
    if (accept_ > 0) --accept_;
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }

 private:
  std::mutex mutex_;
  std::deque<cf::Task> tasks_;
  int accept_ = -1;
};

// An input range 0, 1, 2, ... up to `limit` (or endless when limit < 0) whose dereferences are
// counted in `pulls`, to see how much of the input a lazy map has read.
class CountingRange {
 public:
  struct sentinel {};
  class iterator {
   public:
    using value_type = int;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(int value, int limit, cftest::Counter* pulls) : value_(value), limit_(limit), pulls_(pulls) {}
    int operator*() const {
      pulls_->add();
      return value_;
    }
    iterator& operator++() {
      ++value_;
      return *this;
    }
    friend bool operator==(const iterator& it, sentinel) { return it.limit_ >= 0 && it.value_ >= it.limit_; }

   private:
    int value_ = 0;
    int limit_ = -1;
    cftest::Counter* pulls_ = nullptr;
  };

  explicit CountingRange(cftest::Counter& pulls, int limit = -1) : pulls_(&pulls), limit_(limit) {}
  iterator begin() const { return {0, limit_, pulls_}; }
  sentinel end() const { return {}; }

 private:
  cftest::Counter* pulls_;
  int limit_;
};

using cftest::collect;

}  // namespace extest
