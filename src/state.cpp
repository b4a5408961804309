#include "cfutures/detail/state.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string_view>
#include <utility>

namespace concurrent::futures::detail {

namespace {

// Reverses a list linked through `next` (most recent first) into the order added.
template <class Node, class Next>
Node* reversed(Node* node, Next next) noexcept {
  Node* first = nullptr;
  while (node != nullptr) {
    Node* rest = next(node);
    next(node) = first;
    first = node;
    node = rest;
  }
  return first;
}

}  // namespace

StateBase::~StateBase() {
  // Nothing can complete this state any more: its continuations hear so, in order.
  Continuation* c = reversed(continuations_, [](Continuation* n) -> Continuation*& { return n->next_; });
  while (c != nullptr) {
    Continuation* next = c->next_;
    c->on_abandoned();
    c = next;
  }
  delete hooks_;
}

bool StateBase::cancel() noexcept {
  if (cancel_if_pending()) return true;
  return phase() == kRunning && cancel_running();
}

bool StateBase::cancel_if_pending() noexcept {
  std::uint32_t word = word_.load(std::memory_order_acquire);
  for (;;) {
    const std::uint32_t phase = phase_of(word);
    if (is_cancelled_phase(phase)) return true;
    if (phase != kPending) return false;
    if (word_.compare_exchange_weak(word, kCancelled, std::memory_order_acq_rel, std::memory_order_acquire)) {
      on_transition_to_done(word);
      return true;
    }
  }
}

bool StateBase::cancel_from_running() noexcept {
  std::uint32_t word = word_.load(std::memory_order_acquire);
  for (;;) {
    if (phase_of(word) != kRunning) return is_cancelled_phase(phase_of(word));
    if (word_.compare_exchange_weak(word, kCancelledNotified, std::memory_order_acq_rel, std::memory_order_acquire)) {
      on_transition_to_done(word);
      return true;
    }
  }
}

bool StateBase::set_running_or_notify_cancel() {
  std::uint32_t word = word_.load(std::memory_order_acquire);
  for (;;) {
    const std::uint32_t phase = phase_of(word);
    std::uint32_t next;
    if (phase == kPending) {
      next = (word & ~kPhaseMask) | kRunning;
    } else if (phase == kCancelled) {
      next = kCancelledNotified;  // waiters and callbacks were told at cancel()
    } else {
      throw_invalid_state("set_running_or_notify_cancel");
    }
    if (word_.compare_exchange_weak(word, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
      return phase == kPending;
    }
  }
}

bool StateBase::try_claim() noexcept {
  std::uint32_t word = word_.load(std::memory_order_acquire);
  for (;;) {
    const std::uint32_t phase = phase_of(word);
    if (phase != kPending && phase != kRunning) return false;
    if (word_.compare_exchange_weak(word, (word & ~kPhaseMask) | kCompleting, std::memory_order_acquire,
                                    std::memory_order_acquire)) {
      return true;
    }
  }
}

void StateBase::publish(std::uint32_t final_phase) noexcept {
  // Only the claimer changes the phase while COMPLETING; others may only add flag bits.
  on_transition_to_done(word_.exchange(final_phase, std::memory_order_acq_rel));
}

void StateBase::publish_exception(std::exception_ptr error) noexcept {
  error_ = std::move(error);
  publish(kFailed);
}

void StateBase::set_exception(std::exception_ptr error) {
  if (!try_claim()) throw_invalid_state("set_exception");
  publish_exception(std::move(error));
}

void StateBase::on_transition_to_done(std::uint32_t old) noexcept {
  if (old & kSleepers) futex_wake_all(word_);
  if (old & kHooks) run_hooks();
}

void StateBase::run_hooks() noexcept {
  Hooks* hooks;
  Continuation* continuations;
  {
    SpinGuard guard(lock_);
    hooks = std::exchange(hooks_, nullptr);
    continuations = std::exchange(continuations_, nullptr);
    // Under the lock, so that a waiter that unregisters afterwards is never touched again.
    if (Waiter* first = std::exchange(waiter_, nullptr)) first->on_done(*this);
    if (hooks != nullptr) {
      for (Waiter* waiter : hooks->waiters) waiter->on_done(*this);
    }
  }
  if (hooks != nullptr) {
    for (auto& callback : hooks->callbacks) {
      try {
        callback(*this);
      } catch (...) {
        report_callback_error(*this, std::current_exception());
      }
    }
    delete hooks;
  }
  if (continuations != nullptr) run_continuations(continuations);
}

// ---- Continuations ----
namespace {

// Continuations completing inside continuations run inline up to this depth per thread (a
// few hundred bytes of stack per level); deeper ones wait in the thread's queue.
constexpr int kMaxInlineDepth = 64;

struct Trampoline {
  int depth = 0;
  Continuation* head = nullptr;  // deferred continuations, in the order to run them
  Continuation* tail = nullptr;
};
thread_local Trampoline t_trampoline;

}  // namespace

bool StateBase::add_continuation(Continuation* continuation) noexcept {
  SpinGuard guard(lock_);
  if (!mark_hooked()) return false;
  continuation->source_ = this;
  continuation->next_ = continuations_;
  continuations_ = continuation;
  return true;
}

bool StateBase::remove_continuation(Continuation* continuation) noexcept {
  SpinGuard guard(lock_);
  for (Continuation** link = &continuations_; *link != nullptr; link = &(*link)->next_) {
    if (*link == continuation) {
      *link = continuation->next_;
      return true;
    }
  }
  return false;
}

void StateBase::run_continuations(Continuation* linked) noexcept {
  Continuation* const last = linked;
  Continuation* c = reversed(linked, [](Continuation* n) -> Continuation*& { return n->next_; });
  Trampoline& trampoline = t_trampoline;
  if (trampoline.depth >= kMaxInlineDepth) {
    for (Continuation* d = c; d != nullptr; d = d->next_) retain();  // released once it has run
    (trampoline.tail != nullptr ? trampoline.tail->next_ : trampoline.head) = c;
    trampoline.tail = last;
    return;
  }
  ++trampoline.depth;
  while (c != nullptr) {
    Continuation* next = c->next_;
    c->on_done(*this);
    c = next;
  }
  if (trampoline.depth == 1) {
    while ((c = trampoline.head) != nullptr) {
      trampoline.head = c->next_;
      if (trampoline.head == nullptr) trampoline.tail = nullptr;
      StateBase* source = c->source_;
      c->on_done(*source);
      source->release();
    }
  }
  --trampoline.depth;
}

bool StateBase::mark_hooked() noexcept {
  std::uint32_t word = word_.load(std::memory_order_acquire);
  for (;;) {
    if (is_done_phase(phase_of(word))) return false;
    if (word & kHooks) return true;
    if (word_.compare_exchange_weak(word, word | kHooks, std::memory_order_acq_rel, std::memory_order_acquire)) {
      return true;
    }
  }
}

void StateBase::add_done_callback(std::function<void(StateBase&)> callback) {
  {
    SpinGuard guard(lock_);
    if (!is_done_phase(phase())) {
      if (hooks_ == nullptr) hooks_ = new Hooks;
      hooks_->callbacks.push_back(std::move(callback));
      if (mark_hooked()) return;
      // Completed meanwhile: take the callback back (it was moved into the list) and run it
      // here instead.
      callback = std::move(hooks_->callbacks.back());
      hooks_->callbacks.pop_back();
    }
  }
  try {
    callback(*this);
  } catch (...) {
    report_callback_error(*this, std::current_exception());
  }
}

bool StateBase::add_waiter(Waiter* waiter) {
  SpinGuard guard(lock_);
  if (is_done_phase(phase())) return false;
  if (waiter_ == nullptr) {
    if (!mark_hooked()) return false;
    waiter_ = waiter;
    return true;
  }
  if (hooks_ == nullptr) hooks_ = new Hooks;
  hooks_->waiters.push_back(waiter);
  if (mark_hooked()) return true;
  hooks_->waiters.pop_back();
  return false;
}

void StateBase::remove_waiter(Waiter* waiter) noexcept {
  SpinGuard guard(lock_);
  if (waiter_ == waiter) {
    waiter_ = nullptr;
    return;
  }
  if (hooks_ == nullptr) return;
  auto& waiters = hooks_->waiters;
  waiters.erase(std::remove(waiters.begin(), waiters.end(), waiter), waiters.end());
}

WaitHelper*& current_wait_helper() noexcept {
  thread_local WaitHelper* helper = nullptr;
  return helper;
}

void StateBase::wait() const noexcept {
  if (done()) return;
  if (WaitHelper* helper = current_wait_helper()) {
    while (!done() && helper->run_one_for(*this)) {
    }
  }
  if (spin_until([this] { return done(); })) return;
  std::uint32_t word = word_.load(std::memory_order_acquire);
  while (!is_done_phase(phase_of(word))) {
    if ((word & kSleepers) == 0 &&
        !word_.compare_exchange_weak(word, word | kSleepers, std::memory_order_acq_rel, std::memory_order_acquire)) {
      continue;
    }
    futex_wait(word_, word | kSleepers);
    word = word_.load(std::memory_order_acquire);
  }
}

bool StateBase::wait_until(std::chrono::steady_clock::time_point deadline) const noexcept {
  if (done()) return true;
  if (WaitHelper* helper = current_wait_helper()) {
    while (!done() && std::chrono::steady_clock::now() < deadline && helper->run_one_for(*this)) {
    }
  }
  if (spin_until([this, deadline] { return done() || std::chrono::steady_clock::now() >= deadline; })) {
    return done();
  }
  std::uint32_t word = word_.load(std::memory_order_acquire);
  while (!is_done_phase(phase_of(word))) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if ((word & kSleepers) == 0 &&
        !word_.compare_exchange_weak(word, word | kSleepers, std::memory_order_acq_rel, std::memory_order_acquire)) {
      continue;
    }
    futex_wait_until(word_, word | kSleepers, deadline);
    word = word_.load(std::memory_order_acquire);
  }
  return true;
}

void StateBase::check_result() const {
  switch (phase()) {
    case kFinished:
      return;
    case kFailed:
      std::rethrow_exception(error_);
    default:
      throw CancelledError();
  }
}

std::exception_ptr StateBase::exception_or_null() const {
  const auto p = phase();
  if (is_cancelled_phase(p)) throw CancelledError();
  return p == kFailed ? error_ : nullptr;
}

namespace {

const char* phase_name(std::uint32_t phase) {
  switch (phase) {
    case kPending:
      return "pending";
    case kRunning:
    case kCompleting:
      return "running";
    case kCancelled:
    case kCancelledNotified:
      return "cancelled";
    default:
      return "finished";
  }
}

std::string exception_type_name(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return demangle(typeid(e).name());
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return type != nullptr ? demangle(type->name()) : "unknown";
  }
}

}  // namespace

std::string StateBase::describe() const {
  std::ostringstream out;
  const auto p = phase();
  out << "<Future at " << static_cast<const void*>(this) << " state=" << phase_name(p);
  if (p == kFinished) out << " returned " << result_type_name();
  if (p == kFailed) out << " raised " << exception_type_name(error_);
  out << '>';
  return out.str();
}

void StateBase::throw_invalid_state(const char*) const {
  std::string state = phase_name(phase());
  for (char& c : state) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  throw InvalidStateError(state + ": " + describe());
}

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  std::string result = status == 0 && name ? std::string(name.get()) : std::string(mangled);
  // Spell library types as users write them: "std::string", not the ABI's full template.
  static constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
      {"std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >", "std::string"},
      {"std::__cxx11::", "std::"},
  };
  for (const auto& [long_name, short_name] : kAliases) {
    for (auto at = result.find(long_name); at != std::string::npos; at = result.find(long_name, at)) {
      result.replace(at, long_name.size(), short_name);
      at += short_name.size();
    }
  }
  return result;
}

std::string describe_exception(const std::exception_ptr& error) noexcept {
  try {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      return exception_type_name(error) + ": " + e.what();
    } catch (...) {
      return "non-standard exception of type " + exception_type_name(error);
    }
  } catch (...) {
    return "an exception (could not describe it)";
  }
}

void report_callback_error(const StateBase& state, std::exception_ptr error) noexcept {
  try {
    const std::string line =
        "exception calling callback for " + state.describe() + ": " + describe_exception(error) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  } catch (...) {
    std::fputs("exception calling callback for a future (could not describe it)\n", stderr);
  }
}

}  // namespace concurrent::futures::detail
