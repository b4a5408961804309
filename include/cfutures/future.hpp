// cf::Future<T> and cf::AnyFuture: handles to the eventual result of an asynchronous call.
//
//   cf::ThreadPoolExecutor pool;
//   cf::Future<int> f = pool.submit([] { return 6 * 7; });
//   f.add_done_callback([](cf::Future<int> done) { std::cout << done.result() << "\n"; });
//   int answer = f.result();          // waits; rethrows the task's exception if it threw
//   bool late = !f.done();            // false now
//
// A Future is a copyable handle: copies refer to the same shared state and compare equal.
// Every member may be called from any thread. States follow Python's machine: PENDING,
// RUNNING, CANCELLED, FINISHED (see detail/state.hpp for the full transition table).
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "cfutures/detail/state.hpp"
#include "cfutures/errors.hpp"

namespace concurrent::futures {

template <class T>
class Future;
class AnyFuture;

namespace detail {

// Converts any duration to a steady_clock deadline, saturating instead of overflowing.
template <class Rep, class Period>
std::chrono::steady_clock::time_point deadline_after(std::chrono::duration<Rep, Period> timeout) {
  const auto now = std::chrono::steady_clock::now();
  if (timeout <= timeout.zero()) return now;
  using Clock = std::chrono::steady_clock;
  const auto room = std::chrono::duration<double>(Clock::time_point::max() - now);
  if (std::chrono::duration<double>(timeout) >= room) return Clock::time_point::max();
  return now + std::chrono::ceil<Clock::duration>(timeout);
}

// An intrusive owning pointer to a StateBase (or derived) object.
template <class S>
class StateRef {
 public:
  StateRef() noexcept = default;
  // Adopts a reference the caller already owns.
  explicit StateRef(S* state) noexcept : state_(state) {}
  StateRef(const StateRef& other) noexcept : state_(other.state_) {
    if (state_ != nullptr) state_->retain();
  }
  StateRef(StateRef&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  template <class U, class = std::enable_if_t<std::is_convertible_v<U*, S*>>>
  StateRef(const StateRef<U>& other) noexcept : state_(other.get()) {  // NOLINT: upcast
    if (state_ != nullptr) state_->retain();
  }
  StateRef& operator=(StateRef other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~StateRef() {
    if (state_ != nullptr) state_->release();
  }
  S* get() const noexcept { return state_; }
  S* release() noexcept { return std::exchange(state_, nullptr); }

 private:
  S* state_ = nullptr;
};

// Access to a handle's state for wait(), as_completed() and executors.
struct HandleAccess {
  template <class Handle>
  static StateBase* state(const Handle& handle) {
    return handle.checked();
  }
  template <class T>
  static State<T>* typed_state(const Future<T>& future) {
    return future.checked();
  }
  template <class T>
  static Future<T> adopt(State<T>* state) noexcept {
    return Future<T>(StateRef<State<T>>(state));
  }
  static AnyFuture adopt_any(StateBase* state) noexcept;
};

[[noreturn]] inline void throw_empty_handle() { throw std::logic_error("cf::Future: empty handle (moved from)"); }

// Throws TimeoutError "<operation> timed out after 2.5 s waiting for <Future at 0x... state=running>".
[[noreturn]] void throw_timeout(const char* operation, std::chrono::duration<double> timeout, const StateBase& state);

// Waits up to `timeout` for `state` to be done; throws TimeoutError naming `operation` if it is not.
template <class Rep, class Period>
void wait_or_throw(const StateBase& state, const char* operation, std::chrono::duration<Rep, Period> timeout) {
  if (!state.wait_until(deadline_after(timeout))) throw_timeout(operation, timeout, state);
}

// True once `state` has no reference but the caller's. Waits for the executor's own reference,
// which it drops just after completing the state (and after its done-callbacks ran): briefly if
// `patient` is false, up to a second if true. The caller's reads and writes of the result then
// happen after every other handle's (see the definition).
bool is_last_reference(StateBase& state, bool patient);

}  // namespace detail

// A type-erased future: what Future<T> offers except the typed result and the setters.
// Every Future<T> converts to it implicitly, so mixed collections can be waited on together.
//
//   std::vector<cf::AnyFuture> all{pool.submit(load_text), pool.submit(count_words, 3)};
//   auto [done, not_done] = cf::wait(all, cf::FIRST_COMPLETED);
class AnyFuture {
 public:
  // Attempts to cancel the call: true if now cancelled (it was pending or already cancelled),
  // false if it is running or finished.
  bool cancel() const { return checked()->cancel(); }
  // True if the call was cancelled.
  bool cancelled() const { return checked()->cancelled(); }
  // True if the call is running now and cannot be cancelled.
  bool running() const { return checked()->running(); }
  // True if the call finished (with a result or an exception) or was cancelled.
  bool done() const { return checked()->done(); }

  // Waits until done; returns the call's exception, or null if it returned normally.
  // Throws CancelledError if cancelled.
  std::exception_ptr exception() const {
    checked()->wait();
    return checked()->exception_or_null();
  }
  // As exception(), but throws TimeoutError if `timeout` passes first.
  // The TimeoutError says what timed out, after how long, and the future's state.
  template <class Rep, class Period>
  std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
    detail::wait_or_throw(*checked(), "exception()", timeout);
    return checked()->exception_or_null();
  }

  // Calls `fn(AnyFuture)` once done: at once, in this thread, if already done; otherwise in
  // the thread that completes or cancels the future. Callbacks run in the order added. An
  // exception thrown by `fn` is reported on stderr and does not stop the other callbacks.
  template <class Fn>
  void add_done_callback(Fn&& fn) const;

  // Composition: defined in detail/then.hpp; the contract is in cfutures/compose.hpp.
  // Returns a Future<U> completed by `fn` once this future is done. `fn(cf::AnyFuture)` always
  // runs and gets this future; `fn()` runs only if this future finished with a result (else
  // the returned future fails with the same exception, or CancelledError if this one was
  // cancelled). U is what fn returns; a returned Future<U> is followed, not nested.
  template <class Fn>
  auto then(Fn&& fn) const;
  // As then(fn), but `fn` is submitted to `executor` (which must outlive this future's
  // completion) once this future is done.
  template <class E, class Fn>
  auto then(E& executor, Fn&& fn) const;

  // Python's repr: "<Future at 0x... state=finished returned int>".
  std::string describe() const { return checked()->describe(); }

  friend bool operator==(const AnyFuture& a, const AnyFuture& b) noexcept { return a.ref_.get() == b.ref_.get(); }
  friend std::ostream& operator<<(std::ostream& out, const AnyFuture& f) { return out << f.describe(); }

 private:
  friend struct detail::HandleAccess;
  friend struct std::hash<AnyFuture>;
  template <class T>
  friend class Future;
  explicit AnyFuture(detail::StateRef<detail::StateBase> ref) noexcept : ref_(std::move(ref)) {}
  detail::StateBase* checked() const {
    if (ref_.get() == nullptr) detail::throw_empty_handle();
    return ref_.get();
  }
  detail::StateRef<detail::StateBase> ref_;
};

inline AnyFuture detail::HandleAccess::adopt_any(StateBase* state) noexcept {
  return AnyFuture(StateRef<StateBase>(state));
}

namespace detail {
// Stores `fn` as a std::function even when it is move-only.
template <class Fn, class Arg>
std::function<void(StateBase&)> make_callback(Fn&& fn, Arg (*adopt)(StateBase&)) {
  using F = std::decay_t<Fn>;
  static_assert(std::is_invocable_v<F&, Arg>,
                "add_done_callback: the callback must be callable with the future as its argument");
  if constexpr (std::is_copy_constructible_v<F>) {
    return [f = std::forward<Fn>(fn), adopt](StateBase& s) mutable { f(adopt(s)); };
  } else {
    auto shared = std::make_shared<F>(std::forward<Fn>(fn));
    return [shared, adopt](StateBase& s) { (*shared)(adopt(s)); };
  }
}
}  // namespace detail

template <class Fn>
void AnyFuture::add_done_callback(Fn&& fn) const {
  checked()->add_done_callback(detail::make_callback(
      std::forward<Fn>(fn), +[](detail::StateBase& s) {
        s.retain();
        return detail::HandleAccess::adopt_any(&s);
      }));
}

// The eventual result of a call returning T (T may be void or move-only).
//
//   cf::Future<std::string> f;                 // a pending future, as Python's Future()
//   std::thread producer([f] { f.set_result("ready"); });
//   assert(f.result(std::chrono::seconds(5)) == "ready");
//   producer.join();
template <class T>
class Future {
  static_assert(!std::is_reference_v<T>, "cf::Future<T&> is not supported: use std::reference_wrapper<T>");

 public:
  using value_type = T;

  // A new PENDING future not attached to any executor (for executor implementers and tests).
  Future() : ref_(new detail::State<T>) {}

  // Attempts to cancel: true if now cancelled (it was pending, or already cancelled); false if
  // running or finished. A successful cancel runs the done-callbacks in this thread and counts
  // as done for wait() and as_completed() at once.
  bool cancel() const { return checked()->cancel(); }
  // True if cancelled.
  bool cancelled() const { return checked()->cancelled(); }
  // True if the call is running now (it can no longer be cancelled).
  bool running() const { return checked()->running(); }
  // True if finished (result or exception) or cancelled.
  bool done() const { return checked()->done(); }

  // Waits until done, then returns the result (a reference valid while any handle to this
  // future lives), rethrows the call's exception, or throws CancelledError.
  // Future<void>::result() returns void.
  std::add_lvalue_reference_t<const T> result() const& {
    checked()->wait();
    return get();
  }
  // As result(), but throws TimeoutError if `timeout` passes first (a zero or negative timeout
  // only checks); its message says what timed out, after how long, and the future's state.
  template <class Rep, class Period>
  std::add_lvalue_reference_t<const T> result(std::chrono::duration<Rep, Period> timeout) const& {
    detail::wait_or_throw(*checked(), "result()", timeout);
    return get();
  }

  // result() of an rvalue handle (a temporary, or std::move(f)) returns the value itself, so
  //   const auto& data = pool.submit(load, 100).result();
  // is safe. The value is moved out when this is the last handle to the future, and copied when
  // another handle (a copy, a wait() result, a done-callback's argument) still refers to it, so
  // nothing that handle reads is ever stolen; a move-only T, which cannot be copied, throws
  // InvalidStateError then (inside a done-callback the executor still holds the future: read a
  // move-only result there by reference). Once it returns the value this handle is empty; if it
  // throws (the call's exception, CancelledError, TimeoutError) the handle is left as it was.
  //   std::unique_ptr<Model> model = pool.submit(train, data).result();
  //   std::unique_ptr<Model> again = std::move(f).result();  // f: the last handle
  T result() && {
    checked()->wait();
    return take();
  }
  template <class Rep, class Period>
  T result(std::chrono::duration<Rep, Period> timeout) && {
    detail::wait_or_throw(*checked(), "result()", timeout);
    return take();
  }

  // Waits until done; returns the call's exception, or null if it returned normally. Throws
  // CancelledError if cancelled.
  std::exception_ptr exception() const { return AnyFuture(*this).exception(); }
  // As exception(), but throws TimeoutError if `timeout` passes first (with the message of
  // result(timeout)).
  template <class Rep, class Period>
  std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
    return AnyFuture(*this).exception(timeout);
  }

  // Calls `fn(Future<T>)` once done: at once, in this thread, if already done; otherwise in
  // the thread that completes or cancels the future. Callbacks run in the order added. An
  // exception thrown by `fn` (of any type) is reported on stderr as "exception calling
  // callback for <future>: <what>" and the remaining callbacks still run.
  template <class Fn>
  void add_done_callback(Fn&& fn) const {
    checked()->add_done_callback(detail::make_callback(
        std::forward<Fn>(fn), +[](detail::StateBase& s) {
          s.retain();
          return Future<T>(detail::StateRef<detail::State<T>>(static_cast<detail::State<T>*>(&s)));
        }));
  }

  // Composition: defined in detail/then.hpp; the contract is in cfutures/compose.hpp.
  // Returns a Future<U> that `fn` completes once this future is done, in the thread that
  // completes this one (at once, in this thread, if it is already done):
  //   - `fn(cf::Future<T>)` (the future form) always runs and gets this future;
  //   - otherwise `fn(const T&)` (`fn()` for Future<void>) runs only if this future finished
  //     with a result; if it failed, the returned future fails with the same exception, and
  //     with CancelledError if it was cancelled.
  // U is what fn returns (decayed); an exception thrown by fn fails the returned future; a
  // returned Future<U> is followed (the result is a Future<U>, never a Future<Future<U>>).
  // Cancelling the returned future before fn starts means fn never runs (this future is not
  // cancelled). Costs one allocation; fn is destroyed before the returned future completes.
  //
  //   cf::Future<std::size_t> size = pool.submit(download, url).then([](const std::string& page) {
  //     return page.size();
  //   });
  template <class Fn>
  auto then(Fn&& fn) const;
  // As then(fn), but once this future is done, `fn` is submitted to `executor` (its own
  // submit(); the executor must outlive this future's completion) and runs there. If the
  // submit throws (shut down, broken), the returned future fails with that exception; if the
  // executor drops the task unrun, the returned future is cancelled (or fails with the
  // executor's error, as its task future does). A process pool gets fn and the value:
  // `pool.submit(fn, value)` (value form only), and the returned future follows that call.
  template <class E, class Fn>
  auto then(E& executor, Fn&& fn) const;

  // For executors: returns false if cancelled (the call must not run; waiters are told), or
  // true and marks the future RUNNING if pending. Throws InvalidStateError in any other state.
  bool set_running_or_notify_cancel() const { return checked()->set_running_or_notify_cancel(); }

  // Completes the future with `value` (no argument for Future<void>). Throws InvalidStateError
  // if it is already done or cancelled.
  template <class... A>
  void set_result(A&&... value) const {
    static_assert(std::is_void_v<T> ? sizeof...(A) == 0 : sizeof...(A) == 1,
                  "set_result takes one value (none for Future<void>)");
    checked()->set_value(std::forward<A>(value)...);
  }
  // Completes the future with `error`. Throws InvalidStateError if already done or cancelled,
  // and std::invalid_argument if `error` is null.
  void set_exception(std::exception_ptr error) const {
    if (!error) throw std::invalid_argument("set_exception: error must not be a null exception_ptr");
    checked()->set_exception(std::move(error));
  }

  // Python's repr: "<Future at 0x... state=finished returned int>".
  std::string describe() const { return checked()->describe(); }

  operator AnyFuture() const& {  // NOLINT(google-explicit-constructor): Python-like mixing
    return AnyFuture(detail::StateRef<detail::StateBase>(ref_));
  }
  operator AnyFuture() && {  // NOLINT(google-explicit-constructor)
    return AnyFuture(detail::StateRef<detail::StateBase>(ref_.release()));
  }

  friend bool operator==(const Future& a, const Future& b) noexcept { return a.ref_.get() == b.ref_.get(); }
  friend std::ostream& operator<<(std::ostream& out, const Future& f) { return out << f.describe(); }

 private:
  friend struct detail::HandleAccess;
  friend struct std::hash<Future<T>>;
  explicit Future(detail::StateRef<detail::State<T>> ref) noexcept : ref_(std::move(ref)) {}

  detail::State<T>* checked() const {
    if (ref_.get() == nullptr) detail::throw_empty_handle();
    return ref_.get();
  }
  std::add_lvalue_reference_t<const T> get() const {
    ref_.get()->check_result();
    if constexpr (!std::is_void_v<T>) return ref_.get()->value();
  }
  // The done result of an rvalue result(): moved out of the last handle, else copied; this
  // handle is empty afterwards.
  T take() {
    detail::State<T>* state = ref_.get();
    state->check_result();
    if constexpr (std::is_void_v<T>) {
      ref_ = {};
    } else {
      const bool last = detail::is_last_reference(*state, !std::is_copy_constructible_v<T>);
      if constexpr (!std::is_copy_constructible_v<T>) {
        if (!last) {
          throw InvalidStateError(
              "result() of an rvalue future with a move-only result: another handle still refers to " +
              state->describe() + "; move it out of the last handle, or read it through an lvalue");
        }
      }
      const detail::StateRef<detail::State<T>> consumed = std::move(ref_);  // released after the return
      if constexpr (std::is_copy_constructible_v<T>) {
        if (!last) return state->value();
      }
      return std::move(state->mutable_value());
    }
  }

  detail::StateRef<detail::State<T>> ref_;
};

}  // namespace concurrent::futures

template <class T>
struct std::hash<concurrent::futures::Future<T>> {
  std::size_t operator()(const concurrent::futures::Future<T>& f) const noexcept {
    return std::hash<const void*>{}(f.ref_.get());
  }
};

template <>
struct std::hash<concurrent::futures::AnyFuture> {
  std::size_t operator()(const concurrent::futures::AnyFuture& f) const noexcept {
    return std::hash<const void*>{}(f.ref_.get());
  }
};

// The definitions of Future<T>::then and AnyFuture::then.
#include "cfutures/detail/then.hpp"  // IWYU pragma: export
