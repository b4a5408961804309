// cf::Executor: the abstract executor (Python's concurrent.futures.Executor), cf::Task (the
// type-erased unit of work an executor runs), and cf::MapOptions.
//
//   cf::ThreadPoolExecutor pool(4);                       // any Executor
//   cf::Future<int> f = pool.submit(std::plus<>{}, 2, 3); // f.result() == 5
//   for (int r : pool.map([](int x) { return x * x; }, std::vector{1, 2, 3}))
//     std::cout << r << "\n";                            // 1 4 9, in input order
//   pool.shutdown();                                      // also done by the destructor
//
// Writing your own executor: derive from cf::Executor and implement schedule(Task), which
// must eventually run() or cancel() each task it accepts (a Task destroyed unrun is
// cancelled), or throw to refuse it. Override shutdown() if the executor holds resources.
//
//   class InlineExecutor : public cf::Executor {
//    protected:
//     void schedule(cf::Task task) override { task.run(); }
//   };
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cfutures/detail/map_range.hpp"
#include "cfutures/detail/mutex.hpp"
#include "cfutures/detail/state.hpp"
#include "cfutures/detail/thread_annotations.hpp"
#include "cfutures/errors.hpp"
#include "cfutures/future.hpp"

namespace concurrent::futures {

class Executor;

// Options of Executor::map.
struct MapOptions {
  // Time allowed for the whole map, counted from the call to map(); reading past it throws
  // TimeoutError, cancels what has not started, and ends the range.
  std::optional<std::chrono::nanoseconds> timeout{};
  // Calls per task. Only the process pool uses it; others ignore it. 0 is an error.
  std::size_t chunksize = 1;
  // If set, consume the input lazily with at most this many calls in flight between reads
  // (one more while a read waits), so an endless input works. 0 is an error.
  std::optional<std::size_t> buffersize{};
};

// A unit of work handed to Executor::schedule: a call and its future.
class Task {
 public:
  Task(Task&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  // A task destroyed without running is cancelled, so its future never hangs.
  ~Task() { reset(); }

  // Runs the call unless its future was cancelled, and completes the future with the result
  // or the exception. The callable and its arguments are destroyed before the future
  // completes. Call at most once; later calls do nothing.
  void run() noexcept {
    if (state_ != nullptr) {
      state_->run();
      std::exchange(state_, nullptr)->release();
    }
  }
  // Gives up on the call: its future becomes cancelled (unless already completed).
  void cancel() noexcept { reset(); }
  // The task's future (type-erased).
  AnyFuture future() const {
    if (state_ == nullptr) throw std::logic_error("cf::Task: already run or cancelled");
    state_->retain();
    return detail::HandleAccess::adopt_any(state_);
  }
  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  friend class Executor;
  friend struct TaskAccess;
  explicit Task(detail::StateBase* state) noexcept : state_(state) {}
  void reset() noexcept {
    if (state_ != nullptr) {
      state_->drop_cancelled();
      std::exchange(state_, nullptr)->release();
    }
  }
  detail::StateBase* state_;
};

// For executors in this library: the raw state of a task (ownership moves to the caller).
struct TaskAccess {
  static detail::StateBase* release(Task& task) noexcept { return std::exchange(task.state_, nullptr); }
  static Task adopt(detail::StateBase* state) noexcept { return Task(state); }
};

namespace detail {

// Lets lazy map ranges reach their executor while it exists (Python keeps a weakref).
struct ExecutorLink {
  Mutex mutex;
  Executor* executor CF_GUARDED_BY(mutex) = nullptr;
};

// The result type of calling F with the decayed arguments as rvalues (how submit calls it).
template <class F, class... A>
using call_result_t = std::invoke_result_t<std::decay_t<F>&&, std::decay_t<A>&&...>;

template <class T>
inline constexpr bool is_map_options_v = std::is_same_v<std::remove_cvref_t<T>, MapOptions>;

// Whether the last of `A...` is a MapOptions (false for an empty pack, without naming the
// "last" element of an empty pack, which would not compile).
template <class... A>
inline constexpr bool last_is_map_options_v = false;
template <class A0, class... A>
inline constexpr bool last_is_map_options_v<A0, A...> =
    is_map_options_v<std::tuple_element_t<sizeof...(A), std::tuple<A0, A...>>>;

// A range kept alive by a lazy map: the range itself if it was an rvalue, else a reference.
template <class R>
using stored_range_t = std::conditional_t<std::is_lvalue_reference_v<R>, R, std::remove_cvref_t<R>>;

// True once any of the iterators `its` has reached its end in `ends` (map stops at the
// shortest range).
template <class Its, class Ends, std::size_t... I>
bool any_at_end(const Its& its, const Ends& ends, std::index_sequence<I...>) {
  return ((std::get<I>(its) == std::get<I>(ends)) || ...);
}

// The input of a lazy map (buffersize): the ranges, kept alive if they were rvalues, and the
// positions reached in each.
template <class... Stored>
struct LazyRanges {
  using Indices = std::index_sequence_for<Stored...>;

  template <class... Rs>
  explicit LazyRanges(Rs&&... rs)
      : ranges(std::forward<Rs>(rs)...), its(begins(ranges, Indices{})), ends(ends_of(ranges, Indices{})) {}

  bool at_end() const { return any_at_end(its, ends, Indices{}); }

  // Named helpers rather than lambdas inside decltype: clang 14 crashes reading such member
  // types back from a precompiled header.
  template <std::size_t... I>
  static auto begins(std::tuple<Stored...>& rs, std::index_sequence<I...>) {
    return std::make_tuple(std::begin(std::get<I>(rs))...);
  }
  template <std::size_t... I>
  static auto ends_of(std::tuple<Stored...>& rs, std::index_sequence<I...>) {
    return std::make_tuple(std::end(std::get<I>(rs))...);
  }

  std::tuple<Stored...> ranges;
  decltype(begins(std::declval<std::tuple<Stored...>&>(), Indices{})) its;
  decltype(ends_of(std::declval<std::tuple<Stored...>&>(), Indices{})) ends;
};

}  // namespace detail

class Executor {
 public:
  Executor() : link_(std::make_shared<detail::ExecutorLink>()) {
    detail::MutexLock lock(link_->mutex);
    link_->executor = this;
  }
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  // Derived executors shut down (waiting) in their own destructor, before their members go.
  virtual ~Executor() { detach(); }

  // Schedules fn(args...) and returns its future at once. The callable and the arguments are
  // decay-copied (as by std::thread) and invoked as rvalues, so move-only ones work; an
  // exception thrown by the call is stored in the future. Throws ExecutorShutdown after
  // shutdown(), or the executor's BrokenExecutor once it is broken.
  template <class F, class... A>
  Future<detail::call_result_t<F, A...>> submit(F&& fn, A&&... args) {
    using R = detail::call_result_t<F, A...>;
    static_assert(std::is_void_v<R> || std::is_move_constructible_v<R>,
                  "submit: the call's result type must be move-constructible");
    using Call = detail::BoundCall<std::decay_t<F>, std::decay_t<A>...>;
    if (shut_down_.load(std::memory_order_acquire)) throw ExecutorShutdown();
    auto* state = new detail::TaskState<R, Call>(
        Call{std::forward<F>(fn), std::tuple<std::decay_t<A>...>(std::forward<A>(args)...)});
    Future<R> future = detail::HandleAccess::adopt(static_cast<detail::State<R>*>(state));
    schedule(Task(state));
    return future;
  }

  // Calls fn(x, y, ...) for each position of the ranges (the shortest one decides the length)
  // and returns a MapRange of the results in input order. An optional cf::MapOptions may come
  // last. Without buffersize every call is submitted before map() returns; with it, the input
  // is read lazily (an rvalue range is kept alive by the result; an lvalue range must outlive
  // it). Throws std::invalid_argument if chunksize or buffersize is 0.
  template <class F, class... Args>
  auto map(F&& fn, Args&&... args) {
    if constexpr (detail::last_is_map_options_v<Args...>) {
      auto all = std::forward_as_tuple(std::forward<Args>(args)...);
      return map_with_options(std::forward<F>(fn), std::get<sizeof...(Args) - 1>(all), std::move(all),
                              std::make_index_sequence<sizeof...(Args) - 1>{});
    } else {
      return map_impl(std::forward<F>(fn), MapOptions{}, std::forward<Args>(args)...);
    }
  }

  // Stops accepting work. With cancel_futures, futures not yet started are cancelled. With
  // wait, returns only when every started task is done and the workers are released.
  // Calling it again is harmless. The base version makes submit() and map() throw
  // ExecutorShutdown from then on (enough for an executor without resources of its own); an
  // override that keeps its own shutdown state need not call it.
  virtual void shutdown(bool wait = true, bool cancel_futures = false) {
    (void)wait;
    (void)cancel_futures;
    shut_down_.store(true, std::memory_order_release);
  }

 protected:
  // Takes ownership of a task: run it (now or later, in any thread), cancel it, or throw to
  // refuse it (the task is then cancelled).
  virtual void schedule(Task task) = 0;

  // Stops lazy map ranges from submitting to this executor. Derived destructors call it
  // before tearing down; the base destructor calls it too.
  void detach() noexcept {
    detail::MutexLock lock(link_->mutex);
    link_->executor = nullptr;
  }

 private:
  template <class F, class Tuple, std::size_t... I>
  auto map_with_options(F&& fn, const MapOptions& options, Tuple&& all, std::index_sequence<I...>) {
    return map_impl(std::forward<F>(fn), options, std::get<I>(std::forward<Tuple>(all))...);
  }

  template <class F, class... Ranges>
  auto map_impl(F&& fn, const MapOptions& options, Ranges&&... ranges) {
    using R = std::invoke_result_t<std::decay_t<F>&&, std::decay_t<decltype(*std::begin(ranges))>&&...>;
    using State = detail::MapState<R>;
    if (options.chunksize == 0) throw std::invalid_argument("map: chunksize must be >= 1");
    if (options.buffersize && *options.buffersize == 0)
      throw std::invalid_argument("map: buffersize must be None or > 0");
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (options.timeout) deadline = detail::deadline_after(*options.timeout);

    if (!options.buffersize) {
      auto state = std::make_unique<State>(deadline, nullptr);
      if constexpr (sizeof...(Ranges) > 0) {
        auto its = std::make_tuple(std::begin(ranges)...);
        auto ends = std::make_tuple(std::end(ranges)...);
        while (!detail::any_at_end(its, ends, std::index_sequence_for<Ranges...>{})) {
          state->pending().push_back(submit_at(fn, its, std::index_sequence_for<Ranges...>{}));
        }
      }
      return MapRange<R>(std::move(state));
    } else {
      auto input = std::make_shared<LazyInput<std::decay_t<F>, detail::stored_range_t<Ranges&&>...>>(
          std::forward<F>(fn), std::forward<Ranges>(ranges)...);
      auto submit_next = [input, link = link_](std::deque<Future<R>>& pending) -> bool {
        return input->submit_next(*link, pending);
      };
      auto state = std::make_unique<State>(deadline, std::move(submit_next));
      for (std::size_t i = 0; i < *options.buffersize; ++i) {
        if (!input->submit_next(*link_, state->pending())) break;
      }
      return MapRange<R>(std::move(state));
    }
  }

  template <class F, class Its, std::size_t... I>
  auto submit_at(const F& fn, Its& its, std::index_sequence<I...>) {
    auto future = submit(fn, *std::get<I>(its)...);
    (++std::get<I>(its), ...);
    return future;
  }

  // The input of a lazy map and the function it is mapped with.
  template <class F, class... Stored>
  struct LazyInput {
    template <class G, class... Rs>
    explicit LazyInput(G&& g, Rs&&... rs) : fn(std::forward<G>(g)), input(std::forward<Rs>(rs)...) {}

    template <class R>
    bool submit_next(detail::ExecutorLink& link, std::deque<Future<R>>& pending) {
      if constexpr (sizeof...(Stored) == 0) {
        return false;
      } else {
        if (input.at_end()) return false;
        detail::MutexLock lock(link.mutex);
        if (link.executor == nullptr) return false;  // executor destroyed: end quietly
        pending.push_back(link.executor->submit_at(fn, input.its, std::index_sequence_for<Stored...>{}));
        return true;
      }
    }

    F fn;
    detail::LazyRanges<Stored...> input;
  };

  std::shared_ptr<detail::ExecutorLink> link_;
  std::atomic<bool> shut_down_{false};  // set by the base shutdown()
};

}  // namespace concurrent::futures
