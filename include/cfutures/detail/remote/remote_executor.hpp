// What every executor whose workers are other processes shares (cf::MPIPoolExecutor,
// cf::MPICommExecutor): submit() and map() that always serialize the call, checked at compile
// time, and the hand-over of each task to the pool's RemotePool (src/remote/remote_pool.hpp).
// A derived executor says where its RemotePool is; one that starts its workers lazily starts
// them when pool_for_submit() is first called.
#pragma once

#include <utility>

#include "cfutures/detail/remote/call.hpp"
#include "cfutures/executor.hpp"

namespace concurrent::futures::detail::remote {

class RemotePool;

class RemoteExecutor : public Executor {
 public:
  // Executor::submit, checked at compile time: `fn` must be a function pointer, a capture-less
  // lambda or an empty default-constructible function object, and the arguments and result
  // serializable (anything else is a compile-time error that says so). The arguments are
  // serialized now; the result crosses back by value.
  template <detail::NotCallOptions F, class... A>
  auto submit(F&& fn, A&&... args) {
    return submit_as<Crossing::kAlways>(nullptr, std::forward<F>(fn), std::forward<A>(args)...);
  }
  template <class F, class... A>
  auto submit(const CallOptions& options, F&& fn, A&&... args) {
    return submit_as<Crossing::kAlways>(&options, std::forward<F>(fn), std::forward<A>(args)...);
  }
  // Executor::map, checked at compile time as submit. With chunksize > 1 the calls of a chunk
  // travel in one message and run one after the other in one worker; each position keeps its
  // own result or exception.
  template <class F, class... Args>
  auto map(F&& fn, Args&&... args) {
    return map_as<Crossing::kAlways>(std::forward<F>(fn), std::forward<Args>(args)...);
  }

 protected:
  RemoteExecutor() : Executor(Workers::kInOtherProcesses) {}

  // The pool that takes a new task; starts it (and its workers) if it has not started. Never
  // null. Any thread.
  virtual RemotePool& pool_for_submit() = 0;
  // The pool if it has started, else null. Any thread.
  virtual RemotePool* started_pool() noexcept = 0;

  // Hands a serialized task to pool_for_submit().
  void schedule(Task task) override;
  // Closes the started pool (if any): see RemotePool::shutdown.
  void on_shutdown(bool wait, bool cancel_futures) override;
};

}  // namespace concurrent::futures::detail::remote
