// cf::Executor: the abstract executor (Python's concurrent.futures.Executor), and cf::Task, the
// type-erased unit of work an executor runs.
//
//   void run_all(cf::Executor& pool) {                    // any executor: threads or processes
//     cf::Future<int> f = pool.submit(std::plus<>{}, 2, 3); // f.result() == 5
//     for (int r : pool.map(square, std::vector{1, 2, 3}))
//       std::cout << r << "\n";                           // 1 4 9, in input order
//     pool.shutdown();                                    // also done by the destructor
//   }
//
// submit() and map() build tasks and hand them to schedule(); the executor's kind decides how:
// an executor whose workers are other processes (ProcessPoolExecutor, the MPI executors) gets
// the call serialized (detail/remote/call.hpp), any other gets the callable and its arguments
// as they are. Called through a cf::Executor&, a call may therefore go to another process: with
// a function pointer or a capture-less lambda (which could cross) the translation unit needs
// <cfutures/serialization.hpp> (the umbrella includes it; a static_assert says so otherwise).
// A call that cannot cross fails its future with SerializationError on such an executor.
//
// Writing your own executor: derive from cf::Executor and implement schedule(Task), which must
// eventually run() or cancel() each task it accepts (a Task destroyed unrun is cancelled), or
// throw to refuse it. Override on_shutdown() if the executor holds resources.
//
//   class InlineExecutor : public cf::Executor {
//    protected:
//     void schedule(cf::Task task) override { task.run(); }
//   };
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "cfutures/call_options.hpp"
#include "cfutures/detail/chunk.hpp"
#include "cfutures/detail/futex.hpp"
#include "cfutures/detail/map_range.hpp"
#include "cfutures/detail/mutex.hpp"
#include "cfutures/detail/remote/call_traits.hpp"
#include "cfutures/detail/state.hpp"
#include "cfutures/detail/task.hpp"
#include "cfutures/detail/thread_annotations.hpp"
#include "cfutures/errors.hpp"
#include "cfutures/future.hpp"

namespace concurrent::futures {

class Executor;

// A unit of work handed to Executor::schedule: a call and its future. Move-only; the executor
// that holds it must run, cancel or fail it (destroying it unrun cancels it).
class Task {
 public:
  Task(Task&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      node_ = std::exchange(other.node_, nullptr);
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
    if (node_ != nullptr) {
      node_->run({});
      std::exchange(node_, nullptr)->release();
    }
  }
  // Gives up on the call: its future becomes cancelled (unless already completed).
  void cancel() noexcept { reset(); }
  // Fails the call with `error` (unless its future is already done), for an executor that
  // cannot run it after all.
  void fail(std::exception_ptr error) noexcept {
    if (node_ != nullptr) {
      node_->fail(std::move(error));
      std::exchange(node_, nullptr)->release();
    }
  }
  // The options the call was submitted with.
  const CallOptions& options() const {
    if (node_ == nullptr) throw std::logic_error("cf::Task: already run or cancelled");
    return node_->options();
  }
  // The task's future (type-erased).
  AnyFuture future() const {
    if (node_ == nullptr) throw std::logic_error("cf::Task: already run or cancelled");
    node_->state().retain();
    return detail::HandleAccess::adopt_any(&node_->state());
  }
  explicit operator bool() const noexcept { return node_ != nullptr; }

 private:
  friend class Executor;
  friend struct TaskAccess;
  explicit Task(detail::TaskNode* node) noexcept : node_(node) {}
  void reset() noexcept {
    if (node_ != nullptr) {
      node_->cancel();
      std::exchange(node_, nullptr)->release();
    }
  }
  detail::TaskNode* node_;
};

// For the executors of this library: the task behind a Task (ownership moves with it).
struct TaskAccess {
  static detail::TaskNode* peek(const Task& task) noexcept { return task.node_; }
  static detail::TaskNode* release(Task& task) noexcept { return std::exchange(task.node_, nullptr); }
  static Task adopt(detail::TaskNode* node) noexcept { return Task(node); }
};

namespace detail {

// Lets lazy map ranges reach their executor while it exists (Python keeps a weakref).
struct ExecutorLink {
  Mutex mutex;
  Executor* executor CF_GUARDED_BY(mutex) = nullptr;
};

// The executor's shutdown state: closed once shutdown() starts, with a count of the submits in
// flight, so an executor can wait until every task accepted before the close was handed over.
class ShutdownGate {
 public:
  // Registers a submit; false (nothing registered) once closed.
  bool enter() noexcept {
    if (word_.fetch_add(kSubmitter, std::memory_order_seq_cst) & kClosed) {
      word_.fetch_sub(kSubmitter, std::memory_order_release);
      return false;
    }
    return true;
  }
  void leave() noexcept { word_.fetch_sub(kSubmitter, std::memory_order_release); }
  void close() noexcept { word_.fetch_or(kClosed, std::memory_order_seq_cst); }
  // Waits until no submit that entered before close() is still inside (they never block).
  void drain() const noexcept {
    while ((word_.load(std::memory_order_acquire) & ~kClosed) != 0) yield_now();
  }

 private:
  static constexpr std::uint64_t kClosed = 1;
  static constexpr std::uint64_t kSubmitter = 2;
  std::atomic<std::uint64_t> word_{0};
};

// T, as a type that depends on Later... (so that code naming it in a generic lambda is
// instantiated only where the lambda is called).
template <class T, class... Later>
struct Dependent {
  using type = T;
};
template <class T, class... Later>
using dependent_t = typename Dependent<T, Later...>::type;

// How a submit builds its task, chosen by the static type it was called through.
enum class Crossing {
  kNever,     // a thread pool's own submit: the call runs in this process
  kIfNeeded,  // Executor::submit: serialized if this executor's workers are other processes
  kAlways,    // a process pool's own submit: serialized, and checked at compile time
};

// The result type of calling F with the decayed arguments as rvalues (how submit calls it),
// with a std::stop_token first if F takes one.
template <class F, class... A>
using call_result_t = typename CallResult<std::decay_t<F>&&, std::decay_t<A>&&...>::type;

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

template <class Range>
using element_t = std::decay_t<decltype(*std::begin(std::declval<Range&>()))>;

// The argument types a map reads from a tuple of iterators.
template <class Its>
struct Iterated;
template <class... It>
struct Iterated<std::tuple<It...>> {
  using type = std::tuple<std::decay_t<decltype(*std::declval<It&>())>...>;
};
template <class Its>
using iterated_t = typename Iterated<Its>::type;

// The future's value type of a submit as C decides: a call that must cross returns what the
// worker's invocation returns (its arguments converted to the callable's parameter types).
template <Crossing C, class Fn, class... A>
struct SubmitResult {
  using type = call_result_t<Fn, A...>;
};
template <class Fn, class... A>
struct SubmitResult<Crossing::kAlways, Fn, A...> {
  using type = typename remote::CallEncoding<Fn, A...>::Result;
};

// The input of a lazy map (buffersize): the ranges, kept alive if they were rvalues, and the
// positions reached in each.
template <class... Stored>
struct LazyRanges {
  using Indices = std::index_sequence_for<Stored...>;

  template <class... Rs>
  explicit LazyRanges(Rs&&... rs)
      : ranges(std::forward<Rs>(rs)...), its(begins(ranges, Indices{})), ends(ends_of(ranges, Indices{})) {}

  bool at_end() const { return any_at_end(its, ends); }

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
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  // Derived executors shut down (waiting) in their own destructor, before their members go.
  virtual ~Executor() { detach(); }

  // Schedules fn(args...) and returns its future at once. The callable and the arguments are
  // decay-copied (as by std::thread) and invoked as rvalues, so move-only ones work; an
  // exception thrown by the call is stored in the future. Throws ExecutorShutdown after
  // shutdown(), or the executor's BrokenExecutor once it is broken.
  template <detail::NotCallOptions F, class... A>
  auto submit(F&& fn, A&&... args) {
    return submit_as<detail::Crossing::kIfNeeded>(nullptr, std::forward<F>(fn), std::forward<A>(args)...);
  }
  // As above, with per-call options (timeout, retries), as far as this executor supports them.
  template <class F, class... A>
  auto submit(const CallOptions& options, F&& fn, A&&... args) {
    return submit_as<detail::Crossing::kIfNeeded>(&options, std::forward<F>(fn), std::forward<A>(args)...);
  }

  // Calls fn(x, y, ...) for each position of the ranges (the shortest one decides the length)
  // and returns a MapRange of the results in input order. An optional cf::MapOptions may come
  // last. Without buffersize every call is submitted before map() returns; with it, the input
  // is read lazily (an rvalue range is kept alive by the result; an lvalue range must outlive
  // it). With chunksize > 1 each task runs that many positions. Throws std::invalid_argument if
  // chunksize or buffersize is 0.
  template <class F, class... Args>
  auto map(F&& fn, Args&&... args) {
    return map_as<detail::Crossing::kIfNeeded>(std::forward<F>(fn), std::forward<Args>(args)...);
  }

  // Stops accepting work: submit() and map() throw ExecutorShutdown from now on. With
  // cancel_futures, futures not yet started are cancelled. With wait, returns only when every
  // started task is done and the workers are released. Calling it again is harmless.
  void shutdown(bool wait = true, bool cancel_futures = false) {
    gate_.close();
    on_shutdown(wait, cancel_futures);
  }

 protected:
  // Where an executor's calls run, which decides the kind of task it is given.
  enum class Workers { kInThisProcess, kInOtherProcesses };
  explicit Executor(Workers workers = Workers::kInThisProcess)
      : link_(std::make_shared<detail::ExecutorLink>()), workers_(workers) {
    detail::MutexLock lock(link_->mutex);
    link_->executor = this;
  }

  // Takes ownership of a task: run it (now or later, in any thread), cancel it, or throw to
  // refuse it (the task is then cancelled). An executor with workers in other processes gets
  // tasks whose encoded() call is set.
  virtual void schedule(Task task) = 0;

  // Releases the executor's resources once shutdown() has closed it to new work (see
  // shutdown for `wait` and `cancel_futures`). Called again by every later shutdown().
  virtual void on_shutdown(bool wait, bool cancel_futures) {
    (void)wait;
    (void)cancel_futures;
  }
  // Waits until every submit that started before shutdown() has handed its task to
  // schedule(), for executors that must see all of them before they close.
  void drain_submits() const noexcept { gate_.drain(); }

  // Stops lazy map ranges from submitting to this executor. Derived destructors call it
  // before tearing down; the base destructor calls it too.
  void detach() noexcept {
    detail::MutexLock lock(link_->mutex);
    link_->executor = nullptr;
  }

  // submit() as the static type `C` decides (derived executors' own submit calls this).
  template <detail::Crossing C, class F, class... A>
  auto submit_as(const CallOptions* options, F&& fn, A&&... args);
  // map() likewise.
  template <detail::Crossing C, class F, class... Args>
  auto map_as(F&& fn, Args&&... args);

 private:
  // Holds a submit inside the gate for its lifetime.
  class GateTicket;

  template <class R>
  Future<R> hand_over(detail::TaskNode* node, const CallOptions* options);
  template <class R>
  static Future<R> failed_future(std::exception_ptr error);

  template <detail::Crossing C, class R, class Fn, class... A, class Local, class Encoded, class Refused>
  auto build(detail::remote::TypeList<A...>, Local&& local, Encoded&& encoded, Refused&& refused);
  template <detail::Crossing C, class R, class F, class... A>
  detail::TaskNode* make_task(F&& fn, A&&... args);
  template <detail::Crossing C, class R, class Fn, class Its, class Ends>
  std::pair<detail::TaskNode*, std::uint32_t> make_chunk(const Fn& fn, Its& its, const Ends& ends,
                                                         std::size_t chunksize);

  template <detail::Crossing C, class F, class... Ranges>
  auto map_impl(F&& fn, const MapOptions& options, Ranges&&... ranges);
  template <detail::Crossing C, class F, class Tuple, std::size_t... I>
  auto map_with_options(F&& fn, const MapOptions& options, Tuple&& all, std::index_sequence<I...>) {
    return map_impl<C>(std::forward<F>(fn), options, std::get<I>(std::forward<Tuple>(all))...);
  }
  // Submits the next slot of a map (a position, or a chunk of positions) read from `its`.
  template <detail::Crossing C, class Fn, class Slot, class Its, class Ends>
  void submit_slot(const Fn& fn, Its& its, const Ends& ends, const MapOptions& options, std::deque<Slot>& pending);

  template <detail::Crossing C, class F, class... Stored>
  struct LazyInput;

  std::shared_ptr<detail::ExecutorLink> link_;
  detail::ShutdownGate gate_;
  const Workers workers_;
};

// ---- Templates --------------------------------------------------------------------------

class Executor::GateTicket {
 public:
  explicit GateTicket(detail::ShutdownGate& gate) : gate_(gate) {
    if (!gate_.enter()) throw ExecutorShutdown();
  }
  ~GateTicket() { gate_.leave(); }
  GateTicket(const GateTicket&) = delete;
  GateTicket& operator=(const GateTicket&) = delete;

 private:
  detail::ShutdownGate& gate_;
};

template <class R>
Future<R> Executor::failed_future(std::exception_ptr error) {
  Future<R> future;
  future.set_exception(std::move(error));
  return future;
}

// Schedules a new task (or drops one whose future already failed while it was built) and
// returns its future.
template <class R>
Future<R> Executor::hand_over(detail::TaskNode* node, const CallOptions* options) {
  Future<R> future = detail::HandleAccess::adopt(static_cast<detail::State<R>*>(&node->state()));
  Task task(node);
  if (future.done()) return future;  // an argument could not be serialized
  if (options != nullptr) node->set_options(*options);
  schedule(std::move(task));
  return future;
}

// Builds the task of a call of Fn with arguments A... as C and this executor's workers decide:
// local() runs it in this process, encoded() serializes it for another, refused(why) stands for
// a call that had to cross and cannot (its future fails with SerializationError). local and
// encoded are generic lambdas whose bodies depend on their own parameters, so that each is
// instantiated only where it may be called (encoded() needs detail/remote/call.hpp).
template <detail::Crossing C, class R, class Fn, class... A, class Local, class Encoded, class Refused>
auto Executor::build(detail::remote::TypeList<A...>, Local&& local, Encoded&& encoded, Refused&& refused) {
  using Encoding = detail::remote::CallEncoding<Fn, A...>;
  if constexpr (C == detail::Crossing::kNever) {
    return local();
  } else if constexpr (C == detail::Crossing::kAlways) {
    if constexpr (Encoding::check()) {
      return encoded();
    } else {
      return refused(std::string());  // not reached: check() has failed the build
    }
  } else if constexpr (detail::remote::identity_refusal<Fn>() != nullptr) {
    if (workers_ == Workers::kInThisProcess) return local();
    return refused(detail::remote::why_not_crossing(typeid(Fn).name(), detail::remote::identity_refusal<Fn>()));
  } else {
    static_assert(detail::remote::call_encoding_visible_v<Fn>,
                  "cf::Executor::submit/map through a cf::Executor& with a function pointer or a capture-less "
                  "lambda: the executor may be a process pool, which serializes the call, so include "
                  "<cfutures/serialization.hpp> (or <cfutures/cfutures.hpp>), or call submit on the concrete "
                  "ThreadPoolExecutor.");
    if (workers_ == Workers::kInThisProcess) return local();
    if constexpr (Encoding::crossable && std::is_same_v<typename Encoding::Result, R>) {
      return encoded();
    } else {
      return refused(Encoding::why_not());
    }
  }
}

template <detail::Crossing C, class R, class F, class... A>
detail::TaskNode* Executor::make_task(F&& fn, A&&... args) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_void_v<R> || std::is_move_constructible_v<R>,
                "submit: the call's result type must be move-constructible");
  auto local = [&](auto... later) -> detail::TaskNode* {
    using Call = detail::dependent_t<detail::BoundCall<Fn, std::decay_t<A>...>, decltype(later)...>;
    return new detail::LocalTask<R, Call>(
        Call{std::forward<F>(fn), std::tuple<std::decay_t<A>...>(std::forward<A>(args)...)});
  };
  auto encoded = [&](auto... later) -> detail::TaskNode* {
    using Encoding = detail::dependent_t<detail::remote::CallEncoding<Fn, std::decay_t<A>...>, decltype(later)...>;
    return Encoding::make(static_cast<const Fn&>(fn), std::forward<A>(args)...);
  };
  auto refused = [](std::string why) -> detail::TaskNode* {
    auto* node = new detail::EncodedTask<R>;
    node->fail(std::make_exception_ptr(SerializationError(std::move(why))));
    return node;
  };
  return build<C, R, Fn>(detail::remote::TypeList<std::decay_t<A>...>{}, local, encoded, refused);
}

template <detail::Crossing C, class F, class... A>
auto Executor::submit_as(const CallOptions* options, F&& fn, A&&... args) {
  using R = typename detail::SubmitResult<C, std::decay_t<F>, std::decay_t<A>...>::type;
  if (options != nullptr) detail::check_call_options(*options);
  GateTicket ticket(gate_);
  return hand_over<R>(make_task<C, R>(std::forward<F>(fn), std::forward<A>(args)...), options);
}

// The task of a map chunk: up to `chunksize` positions read from `its` into one task, and the
// number of positions it took.
template <detail::Crossing C, class R, class Fn, class Its, class Ends>
std::pair<detail::TaskNode*, std::uint32_t> Executor::make_chunk(const Fn& fn, Its& its, const Ends& ends,
                                                                 std::size_t chunksize) {
  using Node = std::pair<detail::TaskNode*, std::uint32_t>;
  using Args = detail::iterated_t<Its>;
  auto local = [&]<class... A>(std::tuple<A...>*) -> Node {
    using Call = detail::ChunkCall<R, Fn, A...>;
    Call call{fn, {}};
    call.args.reserve(chunksize);
    for (std::size_t i = 0; i < chunksize && !detail::any_at_end(its, ends); ++i) {
      std::apply([&](auto&... it) { call.args.emplace_back(*it...); }, its);
      std::apply([](auto&... it) { (++it, ...); }, its);
    }
    const auto size = static_cast<std::uint32_t>(call.args.size());
    return {new detail::LocalTask<detail::ChunkResults<R>, Call>(std::move(call)), size};
  };
  auto encoded = [&]<class... A>(std::tuple<A...>*) -> Node {
    auto* node = detail::remote::CallEncoding<Fn, A...>::make_chunk(fn, its, ends, chunksize);
    return {node, node->call().calls};
  };
  auto refused = [&](std::string why) -> Node {
    std::uint32_t size = 0;
    for (; size < chunksize && !detail::any_at_end(its, ends); ++size)
      std::apply([](auto&... it) { (++it, ...); }, its);
    auto* node = new detail::EncodedTask<detail::ChunkResults<R>>;
    node->fail(std::make_exception_ptr(SerializationError(std::move(why))));
    return {node, size};
  };
  return build<C, R, Fn>(
      detail::remote::list_of_t<Args>{},
      [&](auto... later) { return local(static_cast<detail::dependent_t<Args, decltype(later)...>*>(nullptr)); },
      [&](auto... later) { return encoded(static_cast<detail::dependent_t<Args, decltype(later)...>*>(nullptr)); },
      refused);
}

template <detail::Crossing C, class Fn, class Slot, class Its, class Ends>
void Executor::submit_slot(const Fn& fn, Its& its, const Ends& ends, const MapOptions& options,
                           std::deque<Slot>& pending) {
  CallOptions call_options{.timeout = options.call_timeout};
  const CallOptions* per_call = options.call_timeout ? &call_options : nullptr;
  if constexpr (detail::is_chunk_slot_v<Slot>) {
    using R = typename Slot::result_type;
    GateTicket ticket(gate_);
    auto [node, size] = make_chunk<C, R>(fn, its, ends, options.chunksize);
    pending.push_back(Slot{hand_over<detail::ChunkResults<R>>(node, per_call), size, {}});
  } else {
    pending.push_back(std::apply([&](auto&... it) { return submit_as<C>(per_call, fn, *it...); }, its));
    std::apply([](auto&... it) { (++it, ...); }, its);
  }
}

// The input of a lazy map and the function it is mapped with.
template <detail::Crossing C, class F, class... Stored>
struct Executor::LazyInput {
  template <class G, class... Rs>
  explicit LazyInput(G&& g, const MapOptions& o, Rs&&... rs)
      : fn(std::forward<G>(g)), options(o), input(std::forward<Rs>(rs)...) {}

  template <class Slot>
  bool submit_next(detail::ExecutorLink& link, std::deque<Slot>& pending) {
    if (input.at_end()) return false;
    detail::MutexLock lock(link.mutex);
    if (link.executor == nullptr) return false;  // executor destroyed: end quietly
    link.executor->template submit_slot<C>(fn, input.its, input.ends, options, pending);
    return true;
  }

  F fn;
  MapOptions options;
  detail::LazyRanges<Stored...> input;
};

template <detail::Crossing C, class F, class... Args>
auto Executor::map_as(F&& fn, Args&&... args) {
  if constexpr (detail::last_is_map_options_v<Args...>) {
    auto all = std::forward_as_tuple(std::forward<Args>(args)...);
    return map_with_options<C>(std::forward<F>(fn), std::get<sizeof...(Args) - 1>(all), std::move(all),
                               std::make_index_sequence<sizeof...(Args) - 1>{});
  } else {
    return map_impl<C>(std::forward<F>(fn), MapOptions{}, std::forward<Args>(args)...);
  }
}

template <detail::Crossing C, class F, class... Ranges>
auto Executor::map_impl(F&& fn, const MapOptions& options, Ranges&&... ranges) {
  using Fn = std::decay_t<F>;
  using R = typename detail::SubmitResult<C, Fn, detail::element_t<Ranges>...>::type;
  const std::size_t buffersize = detail::check_map_options(options);
  if constexpr (sizeof...(Ranges) == 0) {  // Python: map(fn) with no iterables yields nothing
    return MapRange<R>(std::make_unique<detail::MapState<R>>(std::nullopt, nullptr));
  }
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (options.timeout) deadline = detail::deadline_after(*options.timeout);

  auto run = [&]<class Slot>(Slot*) {
    using State = detail::MapState<R, Slot>;
    if (buffersize == 0) {
      auto state = std::make_unique<State>(deadline, nullptr);
      auto its = std::make_tuple(std::begin(ranges)...);
      const auto ends = std::make_tuple(std::end(ranges)...);
      while (!detail::any_at_end(its, ends))
        submit_slot<C>(static_cast<const Fn&>(fn), its, ends, options, state->pending());
      return MapRange<R>(std::move(state));
    } else {
      auto input = std::make_shared<LazyInput<C, Fn, detail::stored_range_t<Ranges&&>...>>(
          std::forward<F>(fn), options, std::forward<Ranges>(ranges)...);
      auto submit_next = [input, link = link_](std::deque<Slot>& pending) -> bool {
        return input->submit_next(*link, pending);
      };
      auto state = std::make_unique<State>(deadline, std::move(submit_next));
      for (std::size_t i = 0; i < buffersize; ++i) {
        if (!input->submit_next(*link_, state->pending())) break;
      }
      return MapRange<R>(std::move(state));
    }
  };
  if constexpr (sizeof...(Ranges) > 0) {
    if (options.chunksize == 1) return run(static_cast<Future<R>*>(nullptr));
    return run(static_cast<detail::ChunkSlot<R>*>(nullptr));
  }
}

}  // namespace concurrent::futures
