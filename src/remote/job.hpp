// A call on its way to a worker process: the executor's reference to its task (an EncodedTask)
// and the id its reply will carry.
#pragma once

#include <cstdint>
#include <exception>
#include <string_view>

#include "cfutures/detail/task.hpp"

namespace concurrent::futures::detail::remote {

class Job {
 public:
  Job(TaskNode* task, std::uint64_t id) noexcept : task_(task), id_(id) {}
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  // A job dropped without a reply cancels its future if it has not started, and fails it if it
  // has (a future never stays pending), then gives up the task.
  ~Job();

  std::uint64_t id() const noexcept { return id_; }
  EncodedCall& call() noexcept { return *task_->encoded(); }
  StateBase& state() const noexcept { return task_->state(); }

  // Marks the call RUNNING as it is handed to a worker (CPython marks a call running when it
  // enters the call queue). False if its future was cancelled (or completed) meanwhile: drop it.
  bool start() noexcept;
  // Completes the future from the reply's payload (a value that cannot be deserialized fails
  // with SerializationError). Throws MalformedMessage if the reply's structure is broken (the
  // future is then left to the caller, which breaks the pool).
  void complete(std::string_view reply);
  // Fails the future with `error` (a broken pool), unless it is done.
  void fail(std::exception_ptr error) noexcept { task_->fail(std::move(error)); }

 private:
  TaskNode* task_;
  std::uint64_t id_;
};

}  // namespace concurrent::futures::detail::remote
