// The shared state behind every future: the state machine, the result, and the hooks of
// waiters and callbacks. It knows nothing of executors: an executor's task (detail/task.hpp)
// derives from it, so a submitted call still costs a single allocation.
//
// State word (32 bits, also the futex word that result() sleeps on):
//
//   bits 0-2  phase      PENDING -> RUNNING -> COMPLETING -> FINISHED | FAILED
//                        PENDING -> CANCELLED -> CANCELLED_NOTIFIED
//                        PENDING -> COMPLETING (set_result on a pending future)
//                        RUNNING -> CANCELLED (an executor that stopped the running call)
//   bit 3     kSleepers  a thread is (about to be) blocked in futex_wait on the word
//   bit 4     kHooks     callbacks or wait()/as_completed() waiters are registered
//
// Transition table (Python's, plus COMPLETING, the window in which the one thread that won
// the right to complete writes the result):
//
//   method \ phase          PENDING        RUNNING      CANCELLED          CANCELLED_NOTIFIED  done (FINISHED/FAILED)
//   cancel()                ->CANCELLED    see below    true               true                false
//   set_running_or_notify   ->RUNNING,true throw        ->C_NOTIFIED,false throw               throw
//   set_result/exception    ->COMPLETING   ->COMPLETING throw              throw               throw
//
// Why this shape: completion is one atomic exchange. It makes a futex syscall only if the
// kSleepers bit says somebody sleeps, and takes the lock only if kHooks says somebody
// registered a callback or waiter, so the common submit/result path makes no syscall and
// takes no lock. A cancelled future counts as done for wait()/as_completed() from the
// moment cancel() returns (cancel() notifies waiters; CPython does not: gh-87893).
//
// cancel() of a RUNNING future asks the task that runs it (cancel_running(), which an
// executor's task overrides): by default nothing happens and cancel() returns false, as in
// CPython; a thread-pool call that takes a std::stop_token is asked to stop (still false: it
// decides when to return); a process pool with cancel_running kills the call's worker and the
// future goes RUNNING -> CANCELLED (true).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cfutures/detail/futex.hpp"
#include "cfutures/detail/spin_lock.hpp"
#include "cfutures/detail/thread_annotations.hpp"
#include "cfutures/errors.hpp"

namespace concurrent::futures::detail {

enum Phase : std::uint32_t {
  kPending = 0,
  kRunning = 1,
  kCompleting = 2,
  kCancelled = 3,
  kCancelledNotified = 4,
  kFinished = 5,
  kFailed = 6,
};
inline constexpr std::uint32_t kPhaseMask = 7;
inline constexpr std::uint32_t kSleepers = 8;
inline constexpr std::uint32_t kHooks = 16;

constexpr std::uint32_t phase_of(std::uint32_t word) noexcept { return word & kPhaseMask; }
constexpr bool is_done_phase(std::uint32_t phase) noexcept { return phase >= kCancelled; }
constexpr bool is_cancelled_phase(std::uint32_t phase) noexcept {
  return phase == kCancelled || phase == kCancelledNotified;
}

class StateBase;

// Continuations (then, when_all, when_any, co_await).
// A node that a composition links into the state it waits on, so that attaching it costs no
// allocation beyond the composition's own object (a then's result state, an awaiter in a
// coroutine frame). The state keeps the nodes in an intrusive list and runs them, in the order
// added, after the waiters and the done-callbacks, in the thread that completed it.
// Completions inside continuations nest at most a fixed depth per thread; deeper ones are
// queued and run by the outermost one (a trampoline), so a chain of a million thens completing
// at once neither recurses a million deep nor allocates.
class Continuation {
 public:
  // Called once the state is done: by its completer (never with the state's lock held), or by
  // the caller of add_continuation if that returned false.
  virtual void on_done(StateBase& state) noexcept = 0;
  // Called instead of on_done if the state is destroyed without ever completing (nothing holds
  // it, so nobody can complete it any more).
  virtual void on_abandoned() noexcept = 0;

  Continuation(const Continuation&) = delete;
  Continuation& operator=(const Continuation&) = delete;

 protected:
  Continuation() = default;
  ~Continuation() = default;

 private:
  friend class StateBase;
  Continuation* next_ = nullptr;
  StateBase* source_ = nullptr;  // the state it is linked to (read when the trampoline defers it)
};

// Something that wait()/as_completed() registers on a future to hear of its completion.
// on_done() is called once, with the future's lock held, so it must be short and must not
// touch the future's callbacks; the lock is what lets a waiter unregister safely.
class Waiter {
 public:
  virtual void on_done(StateBase& state) noexcept = 0;

 protected:
  ~Waiter() = default;
};

// A thread that can run other work instead of blocking: a thread-pool worker runs queued tasks
// of its own pool. Every blocking wait on states (StateBase::wait and wait_until, cf::wait,
// as_completed) asks the calling thread's helper first, so nested submit-and-wait inside a
// pool cannot deadlock it.
class WaitHelper {
 public:
  // If `target` is a call still PENDING in this helper's queue, runs one queued task in the
  // calling thread and returns true; otherwise returns false (the caller then blocks).
  virtual bool run_one_for(const StateBase& target) noexcept = 0;

 protected:
  ~WaitHelper() = default;
};

// The calling thread's helper: null outside pool workers.
WaitHelper*& current_wait_helper() noexcept;

class StateBase {
 public:
  StateBase() = default;
  StateBase(const StateBase&) = delete;
  StateBase& operator=(const StateBase&) = delete;

  // --- reference counting (intrusive: the handle and the task share one allocation) ---
  void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  // Number of handles (and queue entries) referring to this state; for tests of lifetime.
  std::uint32_t use_count() const noexcept { return refs_.load(std::memory_order_relaxed); }

  // --- queries ---
  std::uint32_t phase() const noexcept { return phase_of(word_.load(std::memory_order_acquire)); }
  bool done() const noexcept { return is_done_phase(phase()); }
  bool cancelled() const noexcept { return is_cancelled_phase(phase()); }
  bool running() const noexcept {
    const auto p = phase();
    return p == kRunning || p == kCompleting;
  }
  bool failed() const noexcept { return phase() == kFailed; }

  // --- transitions (see the table above) ---
  // True if the future is cancelled now: it was PENDING or already cancelled, or it was
  // RUNNING and its task stopped it (cancel_running).
  bool cancel() noexcept;
  // cancel() without asking a running call to stop: true if the future was PENDING (and is
  // CANCELLED now) or already cancelled.
  bool cancel_if_pending() noexcept;
  bool set_running_or_notify_cancel();
  void set_exception(std::exception_ptr error);

  // Claims the right to complete (PENDING or RUNNING -> COMPLETING). Exactly one caller wins.
  bool try_claim() noexcept;
  // Completes a claimed state with `error`; never throws.
  void publish_exception(std::exception_ptr error) noexcept;

  // --- waiting ---
  void wait() const noexcept;
  // Returns done().
  bool wait_until(std::chrono::steady_clock::time_point deadline) const noexcept;

  // Throws CancelledError, or rethrows the stored exception; returns if FINISHED.
  // Precondition: done().
  void check_result() const;
  // The stored exception (null if FINISHED); throws CancelledError if cancelled.
  std::exception_ptr exception_or_null() const;

  // --- hooks ---
  // Runs `callback(*this)` once done: now, in this thread, if already done; else later, in
  // the completing thread. Exceptions from the callback are reported on stderr.
  void add_done_callback(std::function<void(StateBase&)> callback);
  // Registers `waiter` unless already done (then returns false and does not register).
  bool add_waiter(Waiter* waiter);
  void remove_waiter(Waiter* waiter) noexcept;

  // --- continuations (see Continuation) ---
  // Links `continuation` to run once done; returns false and links nothing if already done
  // (the caller then runs it itself). Never allocates, never blocks beyond the spin lock.
  bool add_continuation(Continuation* continuation) noexcept;
  // Unlinks `continuation` if it is still linked (true); false if it has run, is running or
  // is about to run (the completer has taken it).
  bool remove_continuation(Continuation* continuation) noexcept;

  // "<Future at 0x... state=finished returned int>" (Python's repr).
  std::string describe() const;

 protected:
  virtual ~StateBase();
  // Completes a claimed state; the result (if any) is already written.
  void publish(std::uint32_t final_phase) noexcept;
  // What cancel() does to a RUNNING future (see the table): an executor's task that can stop
  // its running call overrides it. Returns whether the future is cancelled now (after
  // cancel_from_running()). Called without any lock of the state held; must not block.
  virtual bool cancel_running() noexcept { return false; }
  // RUNNING -> CANCELLED, waiters and callbacks told; false if the call completed first.
  bool cancel_from_running() noexcept;
  // Completes a state that no other thread can have seen yet (no handle to it was
  // given out): nobody sleeps on it or hooked it, so a release store does the exchange's work.
  void publish_unshared(std::uint32_t final_phase) noexcept { word_.store(final_phase, std::memory_order_release); }
  // Demangled name of the result type, for describe().
  virtual std::string result_type_name() const = 0;
  // Throws InvalidStateError "<STATE>: <Future ...>" (Python's message); `operation` is unused
  // in the message but documents the caller.
  [[noreturn]] void throw_invalid_state(const char* operation) const;

 private:
  struct Hooks {
    std::vector<std::function<void(StateBase&)>> callbacks;
    std::vector<Waiter*> waiters;
  };
  // Wakes sleepers and runs hooks after a transition to a done phase from word `old`.
  void on_transition_to_done(std::uint32_t old) noexcept;
  void run_hooks() noexcept;
  // Sets kHooks while not done; returns false (and sets nothing) if already done.
  bool mark_hooked() noexcept CF_REQUIRES(lock_);
  // Runs the continuations taken from the list (most recent first), in the order
  // added, through the per-thread trampoline.
  void run_continuations(Continuation* linked) noexcept;

  std::atomic<std::uint32_t> refs_{1};
  mutable std::atomic<std::uint32_t> word_{kPending};
  mutable SpinLock lock_;
  Hooks* hooks_ CF_GUARDED_BY(lock_) = nullptr;
  // The first waiter, inline: wait() and as_completed() then register without allocating.
  Waiter* waiter_ CF_GUARDED_BY(lock_) = nullptr;
  // Linked continuations, most recent first.
  Continuation* continuations_ CF_GUARDED_BY(lock_) = nullptr;
  // Written by the claiming thread before publish(kFailed); read after observing kFailed.
  std::exception_ptr error_;
};

// Reports an exception that escaped a done-callback (stderr; never throws).
void report_callback_error(const StateBase& state, std::exception_ptr error) noexcept;
// Demangled type name (for messages).
std::string demangle(const char* mangled);
// "Type: what" for an exception derived from std::exception, else "non-standard exception of
// type Type" (for messages; never throws).
std::string describe_exception(const std::exception_ptr& error) noexcept;

template <class T>
std::string type_name() {
  if constexpr (std::is_void_v<T>) {
    return "void";
  } else {
    return demangle(typeid(T).name());
  }
}

// A future's state holding a T (nothing for void).
template <class T>
class State : public StateBase {
 public:
  // User-provided, so that the union below leaves value_ unconstructed: a defaulted
  // constructor would be deleted for every T with a non-trivial default constructor
  // (std::string, std::unique_ptr, std::vector ...).
  State() noexcept {}  // NOLINT(modernize-use-equals-default): see above

  const T& value() const noexcept { return value_; }
  T& mutable_value() noexcept { return value_; }

  // Claims, stores, and publishes. Throws InvalidStateError if already done.
  template <class... A>
  void set_value(A&&... args) {
    if (!try_claim()) throw_already_done();
    emplace_and_publish(std::forward<A>(args)...);
  }
  // Stores and publishes a claimed state; a throwing constructor stores its exception.
  template <class... A>
  void emplace_and_publish(A&&... args) noexcept {
    try {
      ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<A>(args)...);
    } catch (...) {
      publish_exception(std::current_exception());
      return;
    }
    publish(kFinished);
  }

 protected:
  ~State() override {
    if (phase() == kFinished) value_.~T();
  }
  std::string result_type_name() const override { return type_name<T>(); }

 private:
  [[noreturn]] void throw_already_done() const { this->throw_invalid_state("set_result"); }
  union {
    T value_;
  };
};

template <>
class State<void> : public StateBase {
 public:
  void set_value() {
    if (!try_claim()) throw_invalid_state("set_result");
    publish(kFinished);
  }
  void emplace_and_publish() noexcept { publish(kFinished); }

 protected:
  std::string result_type_name() const override { return "void"; }
};

}  // namespace concurrent::futures::detail
