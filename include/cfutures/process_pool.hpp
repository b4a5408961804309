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
// cannot harm the caller. The workers are copies of the program: at the first pool of the
// process a helper process (the "fork server") is started by re-executing the program,
// which stops before main() once static initialization is done; it forks the workers. So a
// pool created in a program that already runs threads never deadlocks in a child (Python's
// "forkserver" start method). The callable crosses by identity (it must be a function
// pointer, a capture-less lambda or an empty function object); arguments and results cross
// by value with cereal (see cfutures/serialization.hpp). Calls travel through shared-memory
// rings, one per worker, with at most one wake-up each way.
//
// Faults: a worker that dies (a signal, exit(), out of memory, a failing initializer) breaks
// the pool: every pending and running future fails with its own BrokenProcessPool saying
// how the worker died ("exit code 3", "signal SIGKILL"), later submits throw it, and the other
// workers are killed. A value that cannot be (de)serialized fails only its own future with
// cf::SerializationError. See docs/process-pool.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "cfutures/detail/map_range.hpp"
#include "cfutures/detail/mutex.hpp"
#include "cfutures/detail/process/call.hpp"
#include "cfutures/detail/process/job.hpp"
#include "cfutures/detail/state.hpp"
#include "cfutures/detail/thread_annotations.hpp"
#include "cfutures/executor.hpp"
#include "cfutures/future.hpp"
#include "cfutures/serialization.hpp"

namespace concurrent::futures {

class ProcessPoolExecutor;

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
    using Fn = std::decay_t<F>;
    using Stored = detail::process::stored_args_t<Fn, A...>;
    if constexpr (detail::process::check_initializer_in<Fn>(Stored{})) {
      encode(Stored{}, static_cast<const Fn&>(fn), std::forward<A>(args)...);
    }
  }

  // True if there is an initializer.
  explicit operator bool() const noexcept { return !message_.empty(); }

 private:
  friend class ProcessPoolExecutor;
  template <class Fn, class... S, class... A>
  void encode(detail::process::TypeList<S...> list, const Fn& fn, A&&... args) {
    detail::process::put_call_header<Fn, void, S...>(message_, fn, 1);
    try {
      detail::process::Encoder encoder(message_);
      detail::process::put_arguments(list, encoder.archive(), std::forward<A>(args)...);
    } catch (...) {
      message_.clear();
      std::rethrow_exception(detail::process::argument_encoding_error(typeid(Fn).name()));
    }
  }

  std::string message_;  // a kCall payload (CallHeader + arguments)
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

namespace detail::process {
// Lets lazy map ranges reach their pool while it exists.
struct PoolLink {
  Mutex mutex;
  ProcessPoolExecutor* pool CF_GUARDED_BY(mutex) = nullptr;
};
}  // namespace detail::process

class ProcessPoolExecutor : public Executor {
 public:
  // A pool of at most usable-CPU-count workers.
  ProcessPoolExecutor();
  // A pool of at most `max_workers` workers; throws std::invalid_argument if max_workers <= 0.
  explicit ProcessPoolExecutor(int max_workers);
  // Throws std::invalid_argument if max_workers <= 0 or max_tasks_per_child <= 0.
  explicit ProcessPoolExecutor(ProcessPoolOptions options);
  // shutdown(wait=true): waits for every submitted call, then ends the workers and the fork
  // server. Futures and map ranges from this pool stay valid afterwards.
  ~ProcessPoolExecutor() override;

  // Schedules fn(args...) in a worker process and returns its future at once.
  //
  // `fn` must be a function pointer, a capture-less lambda or an empty default-constructible
  // function object (anything else is a compile-time error that says so). Each argument is
  // converted to the type of fn's corresponding parameter (if fn has a single signature; else
  // kept as its decayed type) and serialized now; the result crosses back by value. Types
  // that cannot be serialized are compile-time errors; a serialization that throws at run
  // time fails this future with SerializationError. An exception thrown by fn arrives as
  // described in cfutures/serialization.hpp. Throws BrokenProcessPool once the pool is
  // broken, and ExecutorShutdown after shutdown().
  template <class F, class... A>
  auto submit(F&& fn, A&&... args);

  // Calls fn(x, y, ...) for each position of the ranges (the shortest decides) in the
  // workers and returns a MapRange of the results in input order; a cf::MapOptions may come
  // last. options.chunksize calls travel in one message and run one after the other in one
  // worker; an exception in a chunk fails every position of that chunk (as in CPython).
  // With buffersize, at most that many chunks are in flight and the input is read lazily.
  // Otherwise as Executor::map. Throws std::invalid_argument if chunksize or buffersize is 0.
  template <class F, class... Args>
  auto map(F&& fn, Args&&... args);

  // Stops accepting work. With cancel_futures, calls not yet sent to a worker are cancelled;
  // the others still run. With wait, returns once every call is done and the workers and the
  // fork server have exited. Harmless to call again. Called from a done-callback (which runs
  // in the pool's own thread) it does not wait for that thread.
  void shutdown(bool wait = true, bool cancel_futures = false) override;

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
  // A type-erased task (reached only through an Executor&) holds arbitrary C++ state that
  // cannot cross to another process: throws std::logic_error saying to call the pool's own
  // submit/map (the task is cancelled).
  void schedule(Task task) override;

 private:
  template <class Fn, class R, class... S, class... A>
  void encode_call(detail::process::TypeList<S...> list, std::string& out, const Fn& fn, A&&... args) {
    detail::process::put_call_header<Fn, R, S...>(out, fn, 1);
    detail::process::Encoder encoder(out);
    detail::process::put_arguments(list, encoder.archive(), std::forward<A>(args)...);
  }

  // Submits the next chunk of a map (up to `chunksize` positions, one future for all,
  // appended to `pending`); false if the input is exhausted.
  template <class Fn, class R, class... S, class Its, class Ends>
  bool submit_chunk(detail::process::TypeList<S...> list, const Fn& fn, Its& its, const Ends& ends,
                    std::size_t chunksize, std::deque<detail::ChunkSlot<R>>& pending);

  template <class F, class... Ranges>
  auto map_impl(F&& fn, const MapOptions& options, Ranges&&... ranges);
  template <class F, class Tuple, std::size_t... I>
  auto map_with_options(F&& fn, const MapOptions& options, Tuple&& all, std::index_sequence<I...>) {
    return map_impl(std::forward<F>(fn), options, std::get<I>(std::forward<Tuple>(all))...);
  }

  void force_shutdown(int signal);

  std::shared_ptr<detail::process::PoolCore> core_;
  std::shared_ptr<detail::process::PoolLink> link_;
};

// ---- Templates --------------------------------------------------------------------------

template <class F, class... A>
auto ProcessPoolExecutor::submit(F&& fn, A&&... args) {
  using Fn = std::decay_t<F>;
  using Stored = detail::process::stored_args_t<Fn, A...>;
  using R = typename detail::process::ResultOf<Fn, Stored>::type;
  if constexpr (!detail::process::check_call_in<Fn>(Stored{})) {
    return Future<R>();  // not reached: check_call_in has already failed the build
  } else {
    detail::process::check_open(*core_);
    auto* state = new detail::State<R>;
    Future<R> future = detail::HandleAccess::adopt(state);
    auto job = std::make_unique<detail::process::Job>();
    job->callable = typeid(Fn).name();
    job->decode = &detail::process::decode_value<R>;
    state->retain();
    job->state = state;
    try {
      encode_call<Fn, R>(Stored{}, job->payload, static_cast<const Fn&>(fn), std::forward<A>(args)...);
    } catch (...) {
      state->set_exception(detail::process::argument_encoding_error(job->callable));
      return future;  // the job (and its reference to the state) is dropped here
    }
    detail::process::submit_job(*core_, std::move(job));
    return future;
  }
}

template <class Fn, class R, class... S, class Its, class Ends>
bool ProcessPoolExecutor::submit_chunk(detail::process::TypeList<S...> list, const Fn& fn, Its& its, const Ends& ends,
                                       std::size_t chunksize, std::deque<detail::ChunkSlot<R>>& pending) {
  constexpr auto indices = std::make_index_sequence<std::tuple_size_v<Its>>{};
  if (detail::any_at_end(its, ends, indices)) return false;
  detail::process::check_open(*core_);
  using Values = std::vector<detail::MapValue<R>>;
  auto* state = new detail::State<Values>;
  pending.push_back({detail::HandleAccess::adopt(state)});
  auto job = std::make_unique<detail::process::Job>();
  job->callable = typeid(Fn).name();
  job->decode = &detail::process::decode_chunk<R>;
  state->retain();
  job->state = state;
  // Reserved once: a payload growing by doubling makes glibc consolidate its free lists at
  // every step.
  const std::size_t expected = chunksize < 4096 ? chunksize : 4096;
  job->payload.reserve(sizeof(detail::process::CallHeader) + expected * (sizeof(S) + ... + 0));
  const std::size_t count_at = detail::process::put_call_header<Fn, R, S...>(job->payload, fn, 0);
  std::uint32_t count = 0;
  std::exception_ptr error;
  {
    detail::process::Encoder encoder(job->payload);
    for (; count < chunksize && !detail::any_at_end(its, ends, indices); ++count) {
      if (!error) {
        try {
          std::apply([&](auto&... it) { detail::process::put_arguments(list, encoder.archive(), *it...); }, its);
        } catch (...) {
          error = detail::process::argument_encoding_error(job->callable);
        }
      }
      std::apply([](auto&... it) { (++it, ...); }, its);
    }
  }
  pending.back().size = count;
  if (error) {  // the whole chunk fails, as a CPython chunk whose pickling failed
    state->set_exception(error);
    return true;
  }
  job->calls = count;
  std::memcpy(job->payload.data() + count_at, &count, sizeof count);
  detail::process::submit_job(*core_, std::move(job));
  return true;
}

template <class F, class... Args>
auto ProcessPoolExecutor::map(F&& fn, Args&&... args) {
  if constexpr (detail::last_is_map_options_v<Args...>) {
    auto all = std::forward_as_tuple(std::forward<Args>(args)...);
    return map_with_options(std::forward<F>(fn), std::get<sizeof...(Args) - 1>(all), std::move(all),
                            std::make_index_sequence<sizeof...(Args) - 1>{});
  } else {
    return map_impl(std::forward<F>(fn), MapOptions{}, std::forward<Args>(args)...);
  }
}

template <class F, class... Ranges>
auto ProcessPoolExecutor::map_impl(F&& fn, const MapOptions& options, Ranges&&... ranges) {
  using Fn = std::decay_t<F>;
  using Stored = detail::process::stored_args_t<Fn, decltype(*std::begin(ranges))...>;
  using R = typename detail::process::ResultOf<Fn, Stored>::type;
  using State = detail::MapState<R, detail::ChunkSlot<R>>;
  if constexpr (!detail::process::check_call_in<Fn>(Stored{})) {
    return MapRange<R>(nullptr);  // not reached: check_call_in has already failed the build
  } else {
    if (options.chunksize == 0) throw std::invalid_argument("map: chunksize must be >= 1");
    if (options.buffersize && *options.buffersize == 0)
      throw std::invalid_argument("map: buffersize must be None or > 0");
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (options.timeout) deadline = detail::deadline_after(*options.timeout);
    const std::size_t chunksize = options.chunksize;

    if (!options.buffersize || sizeof...(Ranges) == 0) {
      auto state = std::make_unique<State>(deadline, nullptr);
      if constexpr (sizeof...(Ranges) > 0) {
        auto its = std::make_tuple(std::begin(ranges)...);
        const auto ends = std::make_tuple(std::end(ranges)...);
        while (submit_chunk<Fn, R>(Stored{}, static_cast<const Fn&>(fn), its, ends, chunksize, state->pending())) {
        }
      }
      return MapRange<R>(std::move(state));
    } else {
      auto input =
          std::make_shared<detail::LazyRanges<detail::stored_range_t<Ranges&&>...>>(std::forward<Ranges>(ranges)...);
      // Fn is a function pointer (its value matters) or an empty object: either copies freely.
      auto submit_next = [input, link = link_, chunksize,
                          f = Fn(fn)](std::deque<detail::ChunkSlot<R>>& pending) -> bool {
        detail::MutexLock lock(link->mutex);
        if (link->pool == nullptr) return false;  // the pool is gone: end quietly
        return link->pool->template submit_chunk<Fn, R>(Stored{}, f, input->its, input->ends, chunksize, pending);
      };
      auto state = std::make_unique<State>(deadline, submit_next);
      for (std::size_t i = 0; i < *options.buffersize; ++i) {
        if (!submit_next(state->pending())) break;
      }
      return MapRange<R>(std::move(state));
    }
  }
}

}  // namespace concurrent::futures
