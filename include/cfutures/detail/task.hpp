// The task layer, between the futures (detail/state.hpp) and the executors: what an executor
// holds for each submitted call. A task is one heap object holding the future's state and the
// call, so a call costs one allocation; cf::Task (executor.hpp) is the owning handle that
// executors pass around, and the queue of every pool holds tasks.
//
// A task has two references: the Future returned by submit, and the executor's Task. The
// executor gives its reference up by running, cancelling or failing the task:
//
//   executor does \ future is   PENDING                       cancelled           done (set_result)
//   run(hook)                   RUNNING, call, hook, publish  call skipped; told  call skipped
//   cancel()                    CANCELLED, waiters told       told                nothing
//   fail(error)                 FAILED with error             nothing             nothing
//
// In every cell the callable and its arguments are destroyed before the future completes, so
// once a future is done the executor holds nothing the call captured (CPython's
// test_no_stale_references). "told" means set_running_or_notify_cancel() moved it to
// CANCELLED_NOTIFIED, as CPython's executors do when they dequeue a cancelled item.
//
// Two kinds of task: a LocalTask runs its call in this process (the thread pool, custom
// executors); an EncodedTask carries its call already serialized, for an executor whose workers
// are other processes (the process pool, MPI ranks), and knows how a reply completes it.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cfutures/call_options.hpp"
#include "cfutures/detail/state.hpp"
#include "cfutures/errors.hpp"

namespace concurrent::futures::detail {

namespace remote {
class ReplyReader;
}  // namespace remote

// Called by a worker between computing a task's outcome and publishing it (the thread pool
// counts the worker as idle there, before the caller can observe the result).
struct PublishHook {
  void (*fn)(void* context) noexcept = nullptr;
  void* context = nullptr;
  void operator()() const noexcept {
    if (fn != nullptr) fn(context);
  }
};

// A call serialized for another process: the request message and how the reply completes the
// future. The reply holds one outcome (a value or an exception) per call, in order.
struct EncodedCall {
  std::string message;             // the call message (freed once sent)
  std::uint32_t calls = 1;         // calls in it: 1, or the positions of a map chunk
  const char* callable = nullptr;  // typeid(F).name(), for messages
  // Reads the reply's `calls` outcomes and completes `state` with them (a value that cannot be
  // deserialized fails its position, and the ones after it, with SerializationError). Throws
  // remote::MalformedMessage if the reply's structure is broken.
  void (*complete)(StateBase& state, const EncodedCall& call, remote::ReplyReader& reply) = nullptr;
};

// Whether a call is made with a std::stop_token first: fn(token, args...) is callable and
// fn(args...) is not (a callable that accepts both forms is called without a token). F and A
// are the types as invoked (rvalues: `Fn&&`, `A&&...`).
template <class F, class... A>
inline constexpr bool takes_stop_token_v =
    std::is_invocable_v<F, std::stop_token, A...> && !std::is_invocable_v<F, A...>;

// What calling F with A... returns, with the token if it takes one; no `type` if F cannot be
// called either way (so that the alias fails in an overload's substitution, as invoke_result).
template <class F, class... A>
struct CallResult {};
template <class F, class... A>
requires std::is_invocable_v<F, A...>
struct CallResult<F, A...> {
  using type = std::invoke_result_t<F, A...>;
};
template <class F, class... A>
requires takes_stop_token_v<F, A...>
struct CallResult<F, A...> {
  using type = std::invoke_result_t<F, std::stop_token, A...>;
};

// Whether a task's nullary call type (BoundCall, ChunkCall) is invoked with a token.
template <class Call>
inline constexpr bool call_takes_stop_token_v = false;
template <class Call>
requires Call::takes_stop_token inline constexpr bool call_takes_stop_token_v<Call> = true;

class TaskNode {
 public:
  TaskNode(const TaskNode&) = delete;
  TaskNode& operator=(const TaskNode&) = delete;

  // The future this task completes.
  StateBase& state() const noexcept { return *state_; }
  // How the call was submitted (timeouts, retries).
  const CallOptions& options() const noexcept { return options_; }
  void set_options(const CallOptions& options) noexcept { options_ = options; }

  // The executor that queued this task (set by executors whose waits help, see WaitHelper).
  const void* queued_by() const noexcept { return queued_by_.load(std::memory_order_acquire); }
  void set_queued_by(const void* executor) noexcept { queued_by_.store(executor, std::memory_order_release); }

  // Whether the call takes a std::stop_token (and so can be asked to stop while it runs).
  bool stoppable() const noexcept { return stop_ != nullptr; }
  // The call's stop source (a copy shares its state); precondition: stoppable().
  const std::stop_source& stop_source() const noexcept { return *stop_; }
  // Asks a call that takes a std::stop_token to stop (its token's stop_requested() turns true
  // and its std::stop_callbacks run, in this thread); nothing for any other call.
  void request_stop() noexcept {
    if (stop_ != nullptr) stop_->request_stop();
  }

  // Runs the call unless its future was cancelled or completed meanwhile, and publishes the
  // outcome; `before_publish` runs after the call returned and its callable was destroyed.
  virtual void run(PublishHook before_publish) noexcept = 0;
  // Destroys the callable and its arguments without calling them (idempotent).
  virtual void drop_callable() noexcept = 0;
  // The serialized call of an EncodedTask; null for a call that runs in this process.
  virtual EncodedCall* encoded() noexcept { return nullptr; }

  // Gives up a call that has not started: its future becomes CANCELLED (waiters and callbacks
  // told) unless it is already running or done. Returns false if it was.
  bool cancel() noexcept {
    drop_callable();
    if (!state_->cancel_if_pending()) return false;  // running, or finished by a direct set_result
    try {
      state_->set_running_or_notify_cancel();
    } catch (const InvalidStateError&) {  // already notified
    }
    return true;
  }
  // Fails the call with `error` (a broken pool) unless its future is already done. Returns
  // false if it was done.
  bool fail(std::exception_ptr error) noexcept {
    if (!state_->try_claim()) return false;
    drop_callable();
    state_->publish_exception(std::move(error));
    return true;
  }
  // Gives up the executor's reference (the task may be freed here).
  void release() noexcept { state_->release(); }

 protected:
  explicit TaskNode(StateBase& state) noexcept : state_(&state) {}
  ~TaskNode() = default;

  // Set by a LocalTask whose call takes a token, in its constructor's body: its stop source is
  // not constructed yet while TaskNode is.
  void attach_stop_source(std::stop_source& stop) noexcept { stop_ = &stop; }

  // set_running_or_notify_cancel without the throw: false means "do not run" (cancelled, or
  // completed by a direct set_result).
  bool start() noexcept {
    try {
      return state_->set_running_or_notify_cancel();
    } catch (const InvalidStateError&) {
      return false;
    }
  }

 private:
  StateBase* state_;
  std::stop_source* stop_ = nullptr;  // the LocalTask's own, if its call takes a token
  std::atomic<const void*> queued_by_{nullptr};
  CallOptions options_;
};

// A call that runs in this process: the state plus the callable that computes it (and, if the
// call takes a std::stop_token, the stop source whose token it gets: one more allocation).
template <class R, class Fn>
class LocalTask final : public State<R>, public TaskNode {
  static constexpr bool kStoppable = call_takes_stop_token_v<Fn>;
  struct NoStopSource {};

 public:
  template <class G>
  explicit LocalTask(G&& fn) : TaskNode(static_cast<StateBase&>(*this)) {
    if constexpr (kStoppable) attach_stop_source(stop_);
    ::new (static_cast<void*>(std::addressof(fn_))) Fn(std::forward<G>(fn));
    alive_ = true;
    this->retain();  // one reference for the returned Future, one for the executor's Task
  }
  ~LocalTask() override { drop_callable(); }

  void run(PublishHook before_publish) noexcept override {
    if (!start()) {
      drop_callable();
      return;
    }
    try {
      if constexpr (std::is_void_v<R>) {
        invoke();
        drop_callable();
        before_publish();
        if (this->try_claim()) this->emplace_and_publish();
      } else {
        R result = invoke();
        drop_callable();
        before_publish();
        if (this->try_claim()) this->emplace_and_publish(std::move(result));
      }
    } catch (...) {
      drop_callable();
      before_publish();
      if (this->try_claim()) this->publish_exception(std::current_exception());
    }
  }

  void drop_callable() noexcept override {
    if (alive_) {
      alive_ = false;
      fn_.~Fn();
    }
  }

 private:
  // cancel() of the running call: a call with a token is asked to stop; it still returns false
  // (the call decides when to return, and its future completes as usual).
  bool cancel_running() noexcept override {
    request_stop();
    return false;
  }
  decltype(auto) invoke() {
    if constexpr (kStoppable) {
      return std::move(fn_)(stop_.get_token());
    } else {
      return std::move(fn_)();
    }
  }
  union {
    Fn fn_;
  };
  bool alive_ = false;
  [[no_unique_address]] std::conditional_t<kStoppable, std::stop_source, NoStopSource> stop_;
};

// A call serialized for another process: the state, the message, and the reply decoder.
template <class R>
class EncodedTask final : public State<R>, public TaskNode {
 public:
  EncodedTask() : TaskNode(static_cast<StateBase&>(*this)) { this->retain(); }

  EncodedCall& call() noexcept { return call_; }
  EncodedCall* encoded() noexcept override { return &call_; }
  // An encoded call has nothing to run here: an executor that received it by mistake fails it.
  void run(PublishHook before_publish) noexcept override {
    if (start() && this->try_claim()) {
      drop_callable();
      before_publish();
      this->publish_exception(std::make_exception_ptr(
          std::logic_error("cf::Task: a call serialized for another process was run by an in-process executor")));
    }
  }
  void drop_callable() noexcept override { std::string().swap(call_.message); }

 private:
  EncodedCall call_;
};

// Binds a callable and its arguments (decay-copied, as std::thread does) into a nullary
// callable invoked with rvalues, so move-only arguments work.
// A callable that takes a std::stop_token first is called with the task's token.
template <class F, class... A>
struct BoundCall {
  static constexpr bool takes_stop_token = takes_stop_token_v<F&&, A&&...>;
  F fn;
  std::tuple<A...> args;
  decltype(auto) operator()() && {
    return std::apply([this](A&... a) -> decltype(auto) { return std::invoke(std::move(fn), std::move(a)...); }, args);
  }
  decltype(auto) operator()(std::stop_token token) && {
    return std::apply(
        [&](A&... a) -> decltype(auto) { return std::invoke(std::move(fn), std::move(token), std::move(a)...); }, args);
  }
};

}  // namespace concurrent::futures::detail
