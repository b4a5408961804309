// cf::ProcessPoolExecutor: an executor that runs calls in worker processes.
//
//   int collatz_steps(long n) { ... }                          // any function, lambda, functor
//
//   cf::ProcessPoolExecutor pool;                              // one worker per usable CPU
//   cf::Future<int> f = pool.submit(collatz_steps, 27L);      // runs in another process
//   std::cout << f.result() << "\n";                           // 111
//   for (int steps : pool.map(collatz_steps, std::vector<long>{1, 2, 3}, cf::MapOptions{.chunksize = 64}))
//     std::cout << steps << "\n";
//
// Each call runs in a separate process, so a task that crashes, leaks or keeps global state
// cannot harm the caller. The workers are copies of the program, forked by a single-threaded
// helper process (the "fork server"), so a pool created in a program that already runs threads
// never deadlocks in a child (Python's "forkserver" start method). The server (the "early fork
// server") is forked once, during the program's static initialization, and shared by the
// process's pools; where it cannot be used (turned off with CFUTURES_EARLY_FORK_SERVER=0, a
// forked child, a shared libcfutures: see docs/process-pool.md) a pool starts a server of its
// own by re-executing the program. Either way a server never runs main(), and workers see the
// program's environment, working directory and limits as they are when the pool is created.
// With the static libcfutures, the early server is a child of every program that links the
// process pool, from its start (so waitpid(-1, WNOHANG) finds a live child).
//
// A pool may be a namespace-scope or static object: created during static initialization, it
// starts at its first use (a call during static initialization itself throws
// BrokenProcessPool). A pool belongs to the process that created it: a forked child gets
// BrokenProcessPool from the parent's pool and must create its own.
//
// The callable crosses by identity (it must be a function pointer, a capture-less lambda or an
// empty function object); arguments and results cross by value with cereal (see
// cfutures/serialization.hpp). Calls travel through shared-memory rings, one per worker, with
// at most one wake-up each way. The pool is a cf::Executor like any other: code written
// against cf::Executor& sends its calls here serialized (executor.hpp).
//
// Faults: a worker that dies (a signal, exit(), out of memory, a failing initializer) breaks
// the pool: every pending and running future fails with its own BrokenProcessPool saying
// how the worker died ("exit code 3", "signal SIGKILL"), later submits throw it, and the other
// workers are killed. A value that cannot be (de)serialized fails only its own future with
// cf::SerializationError. See docs/process-pool.md.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "cfutures/cpus.hpp"
#include "cfutures/detail/remote/call.hpp"
#include "cfutures/executor.hpp"
#include "cfutures/future.hpp"
#include "cfutures/serialization.hpp"

namespace concurrent::futures {

namespace detail::remote {
class RemotePool;
}  // namespace detail::remote

// A call that each worker process makes once, before its first task (Python's initializer
// and initargs). Any callable submit() accepts, with serializable arguments. If it throws or
// the worker dies in it, the pool is broken.
//
//   void open_log(std::string path) { ... }
//   cf::ProcessPoolExecutor pool({.initializer = cf::ProcessInitializer(open_log, "worker.log")});
//   cf::ProcessPoolExecutor quiet({.initializer = [] { std::signal(SIGINT, SIG_IGN); }});
class ProcessInitializer {
 public:
  // No initializer.
  ProcessInitializer() = default;
  // fn(args...) in each worker. Arguments are converted and serialized now: a value that
  // cannot be serialized throws SerializationError here. The result, if any, is ignored.
  template <class F, class... A>
  requires(!std::is_same_v<std::remove_cvref_t<F>, ProcessInitializer>)
      ProcessInitializer(F&& fn, A&&... args) {  // NOLINT(google-explicit-constructor): `.initializer = f`
    using Encoding = detail::remote::CallEncoding<std::decay_t<F>, std::decay_t<A>...>;
    if constexpr (detail::remote::check_initializer<std::decay_t<F>>(typename Encoding::Stored{})) {
      try {
        Encoding::template encode<void>(message_, fn, std::forward<A>(args)...);
      } catch (...) {
        message_.clear();
        std::rethrow_exception(detail::remote::argument_encoding_error(typeid(std::decay_t<F>).name()));
      }
    }
  }

  // True if there is an initializer.
  explicit operator bool() const noexcept { return !message_.empty(); }
  // The call message the workers run (for the pool).
  const std::string& message() const noexcept { return message_; }

 private:
  std::string message_;  // a kCall payload of one call
};

struct ProcessPoolOptions {
  // Maximum number of worker processes; must be > 0. Default: the number of usable CPUs
  // (sched_getaffinity).
  std::optional<int> max_workers{};
  // Runs in each worker before its first task.
  ProcessInitializer initializer{};
  // If set (must be >= 1), a worker exits after this many calls and a new one takes its place
  // when work is waiting (Python's max_tasks_per_child). A map chunk counts as one call.
  std::optional<int> max_tasks_per_child{};
};

class ProcessPoolExecutor : public Executor {
 public:
  // A pool of at most usable-CPU-count workers.
  ProcessPoolExecutor();
  // A pool of at most `max_workers` workers; throws std::invalid_argument if max_workers <= 0.
  explicit ProcessPoolExecutor(int max_workers);
  // Throws std::invalid_argument if max_workers <= 0 or max_tasks_per_child <= 0.
  explicit ProcessPoolExecutor(ProcessPoolOptions options);
  // shutdown(wait=true): waits for every submitted call, then ends the workers (and a fork
  // server of the pool's own). Futures and map ranges from this pool stay valid afterwards.
  // In a forked child of the process that created the pool, the child's copy is abandoned
  // instead: it touches none of the parent's workers, threads or channels.
  ~ProcessPoolExecutor() override;

  // Executor::submit, checked at compile time: `fn` must be a function pointer, a capture-less
  // lambda or an empty default-constructible function object, and the arguments and result
  // serializable (anything else is a compile-time error that says so). Each argument is
  // converted to the type of fn's corresponding parameter (if fn has a single signature; else
  // kept as its decayed type) and serialized now; the result crosses back by value. A
  // serialization that throws at run time fails this future with SerializationError. An
  // exception thrown by fn arrives as described in cfutures/serialization.hpp. Throws
  // BrokenProcessPool once the pool is broken, and ExecutorShutdown after shutdown().
  template <detail::NotCallOptions F, class... A>
  auto submit(F&& fn, A&&... args) {
    return submit_as<detail::Crossing::kAlways>(nullptr, std::forward<F>(fn), std::forward<A>(args)...);
  }
  template <class F, class... A>
  auto submit(const CallOptions& options, F&& fn, A&&... args) {
    return submit_as<detail::Crossing::kAlways>(&options, std::forward<F>(fn), std::forward<A>(args)...);
  }
  // Executor::map, checked at compile time as submit. With chunksize > 1 the calls of a chunk
  // travel in one message and run one after the other in one worker; each position keeps its
  // own result or exception. With buffersize, at most that many chunks are in flight.
  template <class F, class... Args>
  auto map(F&& fn, Args&&... args) {
    return map_as<detail::Crossing::kAlways>(std::forward<F>(fn), std::forward<Args>(args)...);
  }

  // A pool belongs to the process that created it. In a forked child of that process,
  // submit(), map(), shutdown(), terminate_workers() and kill_workers() on the parent's pool
  // throw BrokenProcessPool at once (the parent's pool goes on unharmed): create a new pool
  // in the child.

  // Python 3.14's terminate_workers(): shutdown(wait=false, cancel_futures=true), then SIGTERM
  // to every live worker. Futures of calls that were running fail with BrokenProcessPool.
  // Harmless if no worker has started or the pool is already broken.
  void terminate_workers();
  // As terminate_workers(), with SIGKILL.
  void kill_workers();

  // Worker processes started and not yet exited (Python's len(pool._processes)).
  std::size_t worker_count() const noexcept;
  // The maximum number of workers.
  std::size_t max_workers() const noexcept;

 protected:
  // Takes a serialized call (every task submit() and map() make for this pool is one).
  void schedule(Task task) override;
  // shutdown(): with cancel_futures, calls not yet sent to a worker are cancelled; the others
  // still run. With wait, returns once every call is done and the workers have exited. Called
  // from a done-callback (which runs in the pool's own thread) it does not wait for that thread.
  void on_shutdown(bool wait, bool cancel_futures) override;

 private:
  struct Start;

  void force_shutdown(int signal);
  // Throws BrokenProcessPool in any process but owner_.
  void check_owner() const;
  // Starts the pool (once): at its creation, or for a pool created during static
  // initialization, at its first use.
  void start();
  bool started() const noexcept;

  std::unique_ptr<Start> start_;
  std::shared_ptr<detail::remote::RemotePool> core_;  // set once started
  pid_t owner_;                                       // the process that created the pool
};

}  // namespace concurrent::futures
