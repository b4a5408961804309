// C++20 coroutines over cfutures: co_await on cf::Future<T> and cf::AnyFuture, cf::Future<T>
// as a coroutine's return type, and co_await cf::resume_on(executor).
//
//   cf::Future<std::size_t> page_size(cf::ThreadPoolExecutor& pool, std::string url) {
//     std::string page = co_await pool.submit(download, url);  // no thread waits meanwhile
//     co_await cf::resume_on(pool);                            // the rest runs in the pool
//     co_return parse(page).size();
//   }
//   std::size_t n = page_size(pool, "http://example.com").result();
//
// Threading: `co_await f` resumes the coroutine in the thread that completes f (a pool
// worker, for a pool's future), or does not suspend if f is already done. A coroutine
// returning cf::Future<T> starts at once in the caller's thread and runs until its first
// suspension; its future is RUNNING until the coroutine ends (cancel() returns false).
//
// Lifetime:
//   - the awaiter holds its own handle to the awaited future, so the other handles may go
//     (even from other threads) while the coroutine is suspended;
//   - a coroutine frame destroyed while suspended on `co_await f` (by the owner of a
//     coroutine type of its own) unlinks from f, so f's completion does not touch it; that
//     destruction must not race with f's completion (as for any coroutine: another thread
//     would be resuming the frame being destroyed);
//   - a cf::Future<T> coroutine destroyed before it completes fails its future with
//     CancelledError ("the coroutine was destroyed before it completed").
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#include "cfutures/detail/state.hpp"
#include "cfutures/errors.hpp"
#include "cfutures/future.hpp"

namespace concurrent::futures {

class ProcessPoolExecutor;

namespace detail {

// `co_await f`: the awaiter, in the coroutine frame, is the continuation linked into f. With
// kByValue (f was an rvalue, so nothing else keeps the value alive) await_resume returns a
// copy of the value; otherwise a reference valid while any handle to f lives, as result().
template <class Handle, bool kByValue>
class FutureAwaiter final : private Continuation {
 public:
  explicit FutureAwaiter(Handle future) : future_(std::move(future)), state_(HandleAccess::state(future_)) {}
  FutureAwaiter(FutureAwaiter&&) = delete;
  ~FutureAwaiter() {
    if (suspended_) state_->remove_continuation(this);  // the frame is destroyed while suspended
  }

  bool await_ready() const noexcept { return state_->done(); }
  bool await_suspend(std::coroutine_handle<> coroutine) noexcept {
    coroutine_ = coroutine;
    suspended_ = true;
    if (state_->add_continuation(this)) return true;
    suspended_ = false;  // done meanwhile: go on without suspending
    return false;
  }
  decltype(auto) await_resume() const {
    state_->check_result();
    if constexpr (std::is_same_v<Handle, AnyFuture>) {
      return;
    } else {
      using T = typename Handle::value_type;
      if constexpr (std::is_void_v<T>) {
        return;
      } else if constexpr (kByValue) {
        return T(static_cast<const State<T>*>(state_)->value());
      } else {
        return static_cast<const T&>(static_cast<const State<T>*>(state_)->value());
      }
    }
  }

 private:
  void on_done(StateBase&) noexcept override {
    suspended_ = false;  // before resuming: the coroutine may destroy this awaiter
    coroutine_.resume();
  }
  void on_abandoned() noexcept override {}  // never: future_ keeps the state alive

  Handle future_;
  StateBase* state_;
  std::coroutine_handle<> coroutine_;
  bool suspended_ = false;
};

template <class T>
class PromiseResult {
 public:
  PromiseResult() noexcept {}  // NOLINT(modernize-use-equals-default): leaves value_ unconstructed
  PromiseResult(const PromiseResult&) = delete;
  PromiseResult& operator=(const PromiseResult&) = delete;
  ~PromiseResult() {
    if (has_value_) value_.~T();
  }
  template <class V = T>
  void return_value(V&& value) {
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<V>(value));
    has_value_ = true;
  }

 protected:
  union {
    T value_;
  };
  bool has_value_ = false;
};
template <>
class PromiseResult<void> {
 public:
  void return_void() noexcept {}
};

// The promise of a coroutine returning cf::Future<T>. The outcome is published after the
// frame is destroyed (final_suspend), so nothing the coroutine held is alive once its future
// is done.
template <class T>
class FuturePromise : public PromiseResult<T> {
 public:
  FuturePromise() : state_(new State<T>) { state_.get()->set_running_or_notify_cancel(); }
  FuturePromise(const FuturePromise&) = delete;
  FuturePromise& operator=(const FuturePromise&) = delete;
  ~FuturePromise() {
    State<T>* state = state_.get();
    if (state != nullptr && state->try_claim()) {  // destroyed before it completed
      state->publish_exception(
          std::make_exception_ptr(CancelledError("the coroutine was destroyed before it completed")));
    }
  }

  Future<T> get_return_object() noexcept {
    state_.get()->retain();
    return HandleAccess::adopt(state_.get());
  }
  std::suspend_never initial_suspend() noexcept { return {}; }
  auto final_suspend() noexcept { return Final{}; }
  void unhandled_exception() noexcept { error_ = std::current_exception(); }

 private:
  struct Final {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<FuturePromise> coroutine) noexcept {
      FuturePromise& promise = coroutine.promise();
      StateRef<State<T>> state = std::move(promise.state_);
      std::exception_ptr error = std::move(promise.error_);
      if constexpr (std::is_void_v<T>) {
        coroutine.destroy();
        if (!state.get()->try_claim()) return;  // completed by hand meanwhile
        if (error) return state.get()->publish_exception(std::move(error));
        state.get()->emplace_and_publish();
      } else if (error || !promise.has_value_) {
        coroutine.destroy();
        if (!state.get()->try_claim()) return;
        if (!error) error = std::make_exception_ptr(std::logic_error("coroutine ended without co_return"));
        state.get()->publish_exception(std::move(error));
      } else {
        T value(std::move(promise.value_));
        coroutine.destroy();
        if (state.get()->try_claim()) state.get()->emplace_and_publish(std::move(value));
      }
    }
    void await_resume() const noexcept {}
  };

  StateRef<State<T>> state_;
  std::exception_ptr error_;
};

// `co_await resume_on(executor)`: submits one task that resumes the coroutine. The task may
// run or be dropped while submit() is still running, and submit() may still throw after the
// task was dropped (its Task destroyed on the way out), so a handshake decides who resumes:
//   - in the submitting thread, inside submit() (an inline executor, a refused task): the
//     task only records what happened and await_suspend goes on (or the exception propagates);
//   - in another thread: the task waits until submit() has returned (a few instructions away:
//     cf executors never wait for a task inside submit), then resumes the coroutine there.
template <class E>
class ResumeOn {
  static_assert(!std::is_base_of_v<ProcessPoolExecutor, E>,
                "resume_on: a process pool runs functions in other processes and cannot resume a coroutine; "
                "use a thread pool");

 public:
  explicit ResumeOn(E& executor) noexcept : executor_(&executor) {}
  ResumeOn(ResumeOn&&) = delete;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> coroutine) {
    coroutine_ = coroutine;
    submitter_ = std::this_thread::get_id();
    executor_->submit(Resumer(this));  // a throw resumes the coroutine here, with the exception
    int phase = kSubmitting;
    if (phase_.compare_exchange_strong(phase, kSubmitted, std::memory_order_acq_rel)) return true;
    dropped_ = phase == kDroppedEarly;
    return false;  // the task ran or was dropped inside submit(), in this thread: go on here
  }
  // Throws CancelledError if the executor dropped the task without running it; the coroutine
  // then goes on in the thread that dropped it.
  void await_resume() const {
    if (dropped_) throw CancelledError("resume_on: the executor dropped the task that was to resume this coroutine");
  }

 private:
  enum : int { kSubmitting, kSubmitted, kRanEarly, kDroppedEarly };

  class Resumer {
   public:
    explicit Resumer(ResumeOn* awaiter) noexcept : awaiter_(awaiter) {}
    Resumer(Resumer&& other) noexcept : awaiter_(std::exchange(other.awaiter_, nullptr)) {}
    Resumer& operator=(Resumer&&) = delete;
    ~Resumer() {
      if (awaiter_ != nullptr) std::exchange(awaiter_, nullptr)->finish(true);
    }
    void operator()() { std::exchange(awaiter_, nullptr)->finish(false); }

   private:
    ResumeOn* awaiter_;
  };

  void finish(bool dropped) {
    if (std::this_thread::get_id() == submitter_) {
      int phase = kSubmitting;
      if (phase_.compare_exchange_strong(phase, dropped ? kDroppedEarly : kRanEarly, std::memory_order_acq_rel)) {
        return;  // inside submit(): await_suspend goes on itself
      }
    } else {
      while (phase_.load(std::memory_order_acquire) == kSubmitting) std::this_thread::yield();
    }
    dropped_ = dropped;
    coroutine_.resume();
  }

  E* executor_;
  std::coroutine_handle<> coroutine_;
  std::thread::id submitter_;
  std::atomic<int> phase_{kSubmitting};
  bool dropped_ = false;
};

}  // namespace detail

// `co_await f` suspends until f is done (or not at all if it is done), resumes in the thread
// that completed it, and gives what f.result() gives: a const T& valid while any handle to f
// lives, the rethrown exception, or CancelledError.
template <class T>
auto operator co_await(const Future<T>& future) {
  return detail::FutureAwaiter<Future<T>, false>(future);
}
// `co_await pool.submit(...)` (an rvalue future): the value is returned by copy, so it is safe
// to keep after the expression. A move-only T cannot be copied: keep the future in a variable.
template <class T>
auto operator co_await(Future<T>&& future) {
  static_assert(std::is_void_v<T> || std::is_copy_constructible_v<T>,
                "co_await on a temporary cf::Future<T> copies the value, and T is move-only: keep the future in a "
                "variable and co_await that (the result is then a const T& valid while the future lives)");
  return detail::FutureAwaiter<Future<T>, true>(std::move(future));
}
// `co_await any` (an AnyFuture): suspends as above; returns nothing, rethrows the exception or
// throws CancelledError.
inline auto operator co_await(const AnyFuture& future) { return detail::FutureAwaiter<AnyFuture, false>(future); }

// `co_await cf::resume_on(executor)` moves the rest of the coroutine onto `executor` as one
// submitted task (the executor must outlive that task). If the submit throws (shut down,
// broken), the co_await throws it, in the same thread. If the executor drops the task without
// running it, the co_await throws CancelledError in the thread that dropped it.
//
//   co_await cf::resume_on(pool);   // from here on, in a pool thread
template <class E>
detail::ResumeOn<E> resume_on(E& executor) noexcept {
  return detail::ResumeOn<E>(executor);
}

}  // namespace concurrent::futures

// cf::Future<T> as a coroutine's return type.
template <class T, class... Args>
struct std::coroutine_traits<concurrent::futures::Future<T>, Args...> {
  using promise_type = concurrent::futures::detail::FuturePromise<T>;
};
