// Future<T>::then and AnyFuture::then (the contract is in cfutures/compose.hpp and on the
// members in cfutures/future.hpp; future.hpp includes this file at its end).
//
// g = f.then(fn) allocates one ThenState: the result state of g, fn stored inline, and one
// Continuation node. The node is linked into f's state; when f is done it runs fn and
// completes g. The same node is then reused for whatever g still waits on, one at a time: the
// executor's task (then(executor, fn)) and the Future<U> that fn returned (which g follows).
//
// Who owns what: each link of the node into a state holds one reference to the ThenState, so
// an intermediate g that nobody holds lives until it completes. Whoever claims g (the
// completer, or the executor's task) owns fn: it calls it and destroys it before g completes.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "cfutures/detail/state.hpp"
#include "cfutures/errors.hpp"
#include "cfutures/future.hpp"

namespace concurrent::futures {

class ProcessPoolExecutor;

namespace detail {

template <class T>
struct is_future : std::false_type {};
template <class T>
struct is_future<Future<T>> : std::true_type {};
template <class T>
inline constexpr bool is_future_v = is_future<T>::value;

// A handle type then() and the compositions accept: Future<T> or AnyFuture.
template <class F>
inline constexpr bool is_handle_v = is_future_v<F> || std::is_same_v<F, AnyFuture>;

// How a continuation reads its source: a new handle to it, and (Future<T>) its value.
template <class S>
struct SourceOf;
template <class T>
struct SourceOf<Future<T>> {
  using value_type = T;
  static Future<T> handle(StateBase& state) noexcept {
    state.retain();
    return HandleAccess::adopt(static_cast<State<T>*>(&state));
  }
  static std::add_lvalue_reference_t<const T> value(StateBase& state) noexcept requires(!std::is_void_v<T>) {
    return static_cast<State<T>&>(state).value();
  }
};
template <>
struct SourceOf<AnyFuture> {
  using value_type = void;
  static AnyFuture handle(StateBase& state) noexcept {
    state.retain();
    return HandleAccess::adopt_any(&state);
  }
};

// fn is called with the future (the future form) when it can be; else with the value
// (nothing for Future<void> and AnyFuture), and only if the source finished with a result.
template <class S, class Fn>
inline constexpr bool takes_future_v = std::is_invocable_v<Fn, S>;

template <class S, class Fn>
constexpr bool then_callable() {
  using T = typename SourceOf<S>::value_type;
  if constexpr (takes_future_v<S, Fn>) {
    return true;
  } else if constexpr (std::is_void_v<T>) {
    return std::is_invocable_v<Fn>;
  } else {
    return std::is_invocable_v<Fn, const T&>;
  }
}

template <class S, class Fn>
decltype(auto) invoke_continuation(Fn&& fn, StateBase& source) {
  if constexpr (takes_future_v<S, Fn>) {
    return std::invoke(std::forward<Fn>(fn), SourceOf<S>::handle(source));
  } else if constexpr (std::is_void_v<typename SourceOf<S>::value_type>) {
    return std::invoke(std::forward<Fn>(fn));
  } else {
    return std::invoke(std::forward<Fn>(fn), SourceOf<S>::value(source));
  }
}

// What fn returns, decayed; then() follows a Future<U> instead of nesting it.
template <class S, class Fn>
using continuation_result_t =
    std::remove_cvref_t<decltype(invoke_continuation<S>(std::declval<Fn>(), std::declval<StateBase&>()))>;
template <class R>
struct Followed {
  using type = R;
};
template <class U>
struct Followed<Future<U>> {
  using type = U;
};
template <class S, class Fn>
using then_value_t = typename Followed<continuation_result_t<S, Fn>>::type;

// The exception a value-form continuation passes on instead of running: the source's own, or
// CancelledError if it was cancelled.
inline std::exception_ptr failure_of(const StateBase& source) noexcept {
  if (source.failed()) return source.exception_or_null();
  return std::make_exception_ptr(CancelledError());
}

inline std::exception_ptr abandoned_error() noexcept {
  return std::make_exception_ptr(
      CancelledError("the future this continuation waited for was destroyed before it completed"));
}

// A new reference to the state of `future` (throws std::logic_error if it is an empty handle).
template <class U>
StateRef<State<U>> share_state(const Future<U>& future) {
  State<U>* state = HandleAccess::typed_state(future);
  state->retain();
  return StateRef<State<U>>(state);
}

// then(fn) without an executor runs fn in the completing thread.
struct RunInline {};

// The result state of a then: see the top of this file.
template <class U, class S, class Fn, class Ex>
class ThenState final : public State<U>, private Continuation {
  using Raw = continuation_result_t<S, Fn&&>;
  static constexpr bool kFollows = is_future_v<Raw>;
  static constexpr bool kFutureForm = takes_future_v<S, Fn&&>;
  static constexpr bool kOnExecutor = !std::is_same_v<Ex, RunInline>;
  static_assert(!kFollows || std::is_void_v<U> || std::is_copy_constructible_v<U>,
                "then: fn returns a Future<U> whose value is copied into the returned future, so U must be "
                "copy-constructible (return U itself, or a Future<std::shared_ptr<U>>)");
  static_assert(kFollows || std::is_void_v<U> || std::is_move_constructible_v<U>,
                "then: fn's result type must be move-constructible");

 public:
  template <class G>
  ThenState(G&& fn, std::conditional_t<kOnExecutor, Ex*, RunInline> executor) : executor_(executor) {
    ::new (static_cast<void*>(std::addressof(fn_))) Fn(std::forward<G>(fn));
  }
  ~ThenState() override { destroy_fn(); }

  // Links the node into the source (or runs it now if the source is done).
  void attach(StateBase& source) noexcept {
    if constexpr (!kOnExecutor) {
      // A done source: run at once, while nobody else can see g (no link, no claim needed).
      if (source.done()) return run_here(source, /*exclusive=*/true);
    }
    this->retain();  // the link's reference
    linked_ = true;
    if (source.done() || !source.add_continuation(this)) on_done(source);
  }

 private:
  enum class Stage : unsigned char { kSource, kTask, kFollowed };

  // The callable the executor runs: claims g, calls fn, destroys fn. Its result completes the
  // task's future, which g then takes over (task_done).
  struct Runner {
    ThenState* self;
    S source;
    Raw operator()() { return self->run_on_executor(source); }
  };

  void on_done(StateBase& state) noexcept override {
    switch (stage_) {
      case Stage::kSource:
        if constexpr (kOnExecutor) {
          submit(state);
        } else {
          run_here(state, /*exclusive=*/false);
        }
        return;
      case Stage::kTask:
        if constexpr (kOnExecutor) task_done(state);
        return;
      case Stage::kFollowed:
        if constexpr (kFollows) followed_done(state);
        return;
    }
  }

  void on_abandoned() noexcept override {
    if (stage_ == Stage::kSource || !claimed_) {
      if (this->try_claim()) this->publish_exception(abandoned_error());
      destroy_fn();
    } else {
      this->publish_exception(abandoned_error());
    }
    release_link();
  }

  // then(fn): fn runs now, in the thread that completed the source. `exclusive`: then() has
  // not returned g yet, so nobody else can claim it.
  void run_here(StateBase& source, bool exclusive) noexcept {
    if (!exclusive && !this->try_claim()) return give_up();  // g was cancelled (or set by hand) first
    claimed_ = true;
    if constexpr (!kFutureForm) {
      if (source.phase() != kFinished) return fail(failure_of(source));
    }
    if constexpr (kFollows) {
      StateRef<State<U>> followed;
      try {
        followed = share_state(call(source));
      } catch (...) {
        return fail(std::current_exception());
      }
      destroy_fn();
      if (!linked_) {
        this->retain();  // the link to the followed future's reference
        linked_ = true;
      }
      follow(std::move(followed));
    } else {
      try {
        if constexpr (std::is_void_v<U>) {
          call(source);
          destroy_fn();
          complete(exclusive);
        } else {
          U value = call(source);
          destroy_fn();
          complete(exclusive, std::move(value));
        }
      } catch (...) {
        return fail(std::current_exception());
      }
    }
  }

  // Completes the claimed (or still unseen) g with fn's result, then drops the link.
  template <class... V>
  void complete(bool exclusive, V&&... value) noexcept {
    if (!exclusive) {
      this->emplace_and_publish(std::forward<V>(value)...);
      return release_link();
    }
    if constexpr (sizeof...(V) != 0) {
      try {
        ::new (static_cast<void*>(std::addressof(this->mutable_value()))) U(std::forward<V>(value)...);
      } catch (...) {
        return this->publish_exception(std::current_exception());
      }
    }
    this->publish_unshared(kFinished);
  }

  decltype(auto) call(StateBase& source) { return invoke_continuation<S>(std::move(fn_), source); }

  // g waits on the future fn returned; it completes with a copy of that one's outcome.
  void follow(StateRef<State<U>> followed) noexcept {
    State<U>* state = followed.get();
    if (static_cast<StateBase*>(state) == this) {
      return fail(std::make_exception_ptr(std::logic_error("then: fn returned the future it is to complete")));
    }
    stage_ = Stage::kFollowed;
    // Past this call another thread may complete g and destroy it; `followed` may be the last
    // reference to its state (then its destruction abandons the node, which fails g).
    if (!state->add_continuation(this)) followed_done(*state);
  }

  void followed_done(StateBase& followed) noexcept {
    if (followed.phase() != kFinished) return fail(failure_of(followed));
    if constexpr (std::is_void_v<U>) {
      this->emplace_and_publish();
    } else {
      this->emplace_and_publish(static_cast<State<U>&>(followed).value());
    }
    release_link();
  }

  // then(executor, fn): once the source is done, fn is submitted as a task.
  void submit(StateBase& source) noexcept {
    if constexpr (!kFutureForm) {
      if (source.phase() != kFinished) {
        if (!this->try_claim()) return give_up();
        return fail(failure_of(source));
      }
    }
    using TaskFuture = decltype(executor_->submit(std::declval<Runner>()));
    static_assert(std::is_same_v<TaskFuture, Future<Raw>>,
                  "then(executor, fn): executor.submit(callable) must return a cf::Future of the callable's result");
    StateRef<State<Raw>> task;
    try {
      task = share_state(executor_->submit(Runner{this, SourceOf<S>::handle(source)}));
    } catch (...) {
      if (!this->try_claim()) return release_link();  // fn is left to its claimer, or to ~ThenState
      return fail(std::current_exception());
    }
    stage_ = Stage::kTask;
    State<Raw>* state = task.get();
    if (!state->add_continuation(this)) task_done(*state);
  }

  Raw run_on_executor(const S& source) {
    if (!this->try_claim()) throw CancelledError();  // g was cancelled first: fn never runs
    claimed_ = true;
    struct DestroyFn {
      ThenState* self;
      ~DestroyFn() { self->destroy_fn(); }
    } destroy_after{this};
    if constexpr (kFollows) {
      Raw followed = call(*HandleAccess::state(source));
      (void)HandleAccess::state(followed);  // an empty handle fails the task here, not in task_done
      return followed;
    } else {
      return call(*HandleAccess::state(source));
    }
  }

  // The task's future is done: g takes its outcome over (the task's future is ours alone, so
  // its value is moved). A task dropped unrun cancels g; one failed unrun (a broken pool)
  // fails g with the same exception.
  void task_done(StateBase& task) noexcept {
    if (!claimed_) {
      if (task.cancelled()) {
        this->cancel();
      } else if (this->try_claim()) {
        this->publish_exception(failure_of(task));
      }
      return give_up();
    }
    if (task.phase() != kFinished) return fail(failure_of(task));
    if constexpr (kFollows) {
      follow(share_state(static_cast<State<Raw>&>(task).value()));  // not empty: run_on_executor checked
    } else if constexpr (std::is_void_v<U>) {
      this->emplace_and_publish();
      release_link();
    } else {
      this->emplace_and_publish(std::move(static_cast<State<Raw>&>(task).mutable_value()));
      release_link();
    }
  }

  // Completes the claimed g with `error`.
  void fail(std::exception_ptr error) noexcept {
    destroy_fn();
    this->publish_exception(std::move(error));
    release_link();
  }
  // g is done without fn: drop fn (nobody else touches it now) and the link's reference.
  void give_up() noexcept {
    destroy_fn();
    release_link();
  }

  // Drops the link's reference, if there is one (then() on a done source makes no link). Out
  // of line: when GCC 12 (-O3) sees the `delete this` that the last release may do, it warns
  // (-Wuse-after-free) on every later use of the returned future, although the link is never
  // the last reference there.
  [[gnu::noinline]] void release_link() noexcept {
    if (linked_) this->release();
  }

  void destroy_fn() noexcept {
    if (fn_alive_) {
      fn_alive_ = false;
      fn_.~Fn();
    }
  }

  union {
    Fn fn_;
  };
  [[no_unique_address]] std::conditional_t<kOnExecutor, Ex*, RunInline> executor_;
  bool fn_alive_ = true;
  bool claimed_ = false;  // this ThenState claimed g (before calling fn)
  bool linked_ = false;   // a link holds a reference to this ThenState
  Stage stage_ = Stage::kSource;
};

template <class S, class Fn>
auto then_inline(const S& source, Fn&& fn) {
  using F = std::decay_t<Fn>;
  static_assert(then_callable<S, F&&>(),
                "then: fn must be callable with the future (cf::Future<T> / cf::AnyFuture), or with the value "
                "(const T&; nothing for Future<void> and AnyFuture)");
  if constexpr (!then_callable<S, F&&>()) {
    return Future<int>();  // not reached: the assertion above has failed the build
  } else {
    using U = then_value_t<S, F&&>;
    StateBase* src = HandleAccess::state(source);  // throws on an empty handle, before allocating
    auto* state = new ThenState<U, S, F, RunInline>(std::forward<Fn>(fn), RunInline{});
    Future<U> result = HandleAccess::adopt(static_cast<State<U>*>(state));
    state->attach(*src);
    return result;
  }
}

template <class S, class E, class Fn>
auto then_on(const S& source, E& executor, Fn&& fn) {
  using F = std::decay_t<Fn>;
  static_assert(then_callable<S, F&&>(),
                "then: fn must be callable with the future (cf::Future<T> / cf::AnyFuture), or with the value "
                "(const T&; nothing for Future<void> and AnyFuture)");
  if constexpr (!then_callable<S, F&&>()) {
    return Future<int>();  // not reached
  } else if constexpr (std::is_base_of_v<ProcessPoolExecutor, E>) {
    // A process pool runs capture-less functions on serialized values: fn gets the value there.
    static_assert(!takes_future_v<S, F&&>,
                  "then(process_pool, fn): fn runs in another process, so it takes the value, not the future");
    using T = typename SourceOf<S>::value_type;
    if constexpr (std::is_void_v<T>) {
      return then_inline(source, [&executor, call = std::forward<Fn>(fn)] { return executor.submit(call); });
    } else {
      return then_inline(
          source, [&executor, call = std::forward<Fn>(fn)](const T& value) { return executor.submit(call, value); });
    }
  } else {
    using U = then_value_t<S, F&&>;
    StateBase* src = HandleAccess::state(source);
    auto* state = new ThenState<U, S, F, E>(std::forward<Fn>(fn), &executor);
    Future<U> result = HandleAccess::adopt(static_cast<State<U>*>(state));
    state->attach(*src);
    return result;
  }
}

}  // namespace detail

template <class T>
template <class Fn>
auto Future<T>::then(Fn&& fn) const {
  return detail::then_inline(*this, std::forward<Fn>(fn));
}
template <class T>
template <class E, class Fn>
auto Future<T>::then(E& executor, Fn&& fn) const {
  return detail::then_on(*this, executor, std::forward<Fn>(fn));
}
template <class Fn>
auto AnyFuture::then(Fn&& fn) const {
  return detail::then_inline(*this, std::forward<Fn>(fn));
}
template <class E, class Fn>
auto AnyFuture::then(E& executor, Fn&& fn) const {
  return detail::then_on(*this, executor, std::forward<Fn>(fn));
}

}  // namespace concurrent::futures
