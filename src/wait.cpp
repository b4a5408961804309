#include "cfutures/wait.hpp"

#include <algorithm>
#include <string>

namespace concurrent::futures::detail {
namespace {

// The waiter of one wait() call. Its futex word goes from 0 to 1 when the condition holds.
class WaitGroup final : public Waiter {
 public:
  WaitGroup(ReturnWhen return_when, std::size_t pending)
      : return_when_(return_when), pending_(static_cast<std::ptrdiff_t>(pending)) {}

  void on_done(StateBase& state) noexcept override { count(state); }

  void count(const StateBase& state) noexcept {
    const bool fire = return_when_ == ReturnWhen::FIRST_COMPLETED ||
                      (return_when_ == ReturnWhen::FIRST_EXCEPTION && state.failed()) ||
                      pending_.fetch_sub(1, std::memory_order_acq_rel) == 1;
    if (fire && signal_.exchange(1, std::memory_order_acq_rel) == 0) futex_wake_all(signal_);
  }

  bool fired() const noexcept { return signal_.load(std::memory_order_acquire) != 0; }

  void sleep(std::optional<std::chrono::steady_clock::time_point> deadline) const noexcept {
    if (spin_until([this] { return fired(); })) return;
    while (!fired()) {
      if (deadline) {
        if (std::chrono::steady_clock::now() >= *deadline) return;
        futex_wait_until(signal_, 0, *deadline);
      } else {
        futex_wait(signal_, 0);
      }
    }
  }

 private:
  ReturnWhen return_when_;
  std::atomic<std::ptrdiff_t> pending_;
  std::atomic<std::uint32_t> signal_{0};
};

bool condition_holds(const std::vector<StateBase*>& states, ReturnWhen return_when) {
  std::size_t done = 0;
  for (const StateBase* s : states) {
    if (!s->done()) continue;
    ++done;
    if (return_when == ReturnWhen::FIRST_COMPLETED) return true;
    if (return_when == ReturnWhen::FIRST_EXCEPTION && s->failed()) return true;
  }
  return done == states.size();
}

// Runs queued work of the calling worker's pool while `holds()` is false and one of `states`
// (those `skip` does not exclude) is still queued there.
template <class Holds, class Skip>
void help_while(const std::vector<StateBase*>& states, std::optional<std::chrono::steady_clock::time_point> deadline,
                Holds&& holds, Skip&& skip) {
  WaitHelper* helper = current_wait_helper();
  if (helper == nullptr) return;
  while (!holds() && !(deadline && std::chrono::steady_clock::now() >= *deadline)) {
    bool ran = false;
    for (std::size_t i = 0; i < states.size() && !ran; ++i) {
      ran = !skip(i) && !states[i]->done() && helper->run_one_for(*states[i]);
    }
    if (!ran) return;
  }
}

}  // namespace

void wait_for_states(const std::vector<StateBase*>& states, ReturnWhen return_when,
                     std::optional<std::chrono::steady_clock::time_point> deadline) {
  const auto holds = [&] { return condition_holds(states, return_when); };
  help_while(states, deadline, holds, [](std::size_t) { return false; });
  if (holds()) return;
  if (deadline && std::chrono::steady_clock::now() >= *deadline) return;
  WaitGroup group(return_when, states.size());
  std::vector<StateBase*> registered;
  registered.reserve(states.size());
  for (StateBase* s : states) {
    if (s->add_waiter(&group)) {
      registered.push_back(s);
    } else {
      group.count(*s);  // already done
    }
    if (group.fired()) break;
  }
  group.sleep(deadline);
  for (StateBase* s : registered) s->remove_waiter(&group);
}

CompletionQueue::CompletionQueue(const std::vector<StateBase*>& states)
    : states_(states), registered_(states.size(), 0), returned_(states.size(), 0) {
  by_address_.reserve(states_.size());
  for (std::size_t i = 0; i < states_.size(); ++i) by_address_.emplace_back(states_[i], i);
  std::sort(by_address_.begin(), by_address_.end());
  // Futures done at the call come first, in input order; the rest as they complete.
  std::vector<char> was_done(states_.size(), 0);
  {
    SpinGuard guard(lock_);
    for (std::size_t i = 0; i < states_.size(); ++i) {
      if ((was_done[i] = states_[i]->done())) arrived_.push_back(i);
    }
  }
  for (std::size_t i = 0; i < states_.size(); ++i) {
    if (was_done[i]) continue;
    if (states_[i]->add_waiter(this)) {
      registered_[i] = 1;
    } else {
      on_done(*states_[i]);  // completed since the first pass
    }
  }
}

CompletionQueue::~CompletionQueue() {
  // A state returned by next() may be freed already (as_completed keeps no reference to what
  // it yielded): skip those; next() unregistered them. The others are still owned by the
  // AsCompleted that owns this queue.
  for (std::size_t i = 0; i < states_.size(); ++i) {
    if (registered_[i] && !returned_[i]) states_[i]->remove_waiter(this);
  }
}

std::size_t CompletionQueue::position_of(const StateBase* state) const noexcept {
  const auto it =
      std::lower_bound(by_address_.begin(), by_address_.end(), std::pair<const StateBase*, std::size_t>(state, 0));
  return it->second;
}

void CompletionQueue::on_done(StateBase& state) noexcept {
  const std::size_t position = position_of(&state);
  {
    SpinGuard guard(lock_);
    arrived_.push_back(position);
  }
  signal_.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) futex_wake_all(signal_);  // else no syscall
}

std::size_t CompletionQueue::next(std::optional<std::chrono::steady_clock::time_point> deadline,
                                  std::size_t unfinished) {
  for (;;) {
    const std::uint32_t seen = signal_.load(std::memory_order_acquire);
    std::optional<std::size_t> position;
    {
      SpinGuard guard(lock_);
      if (next_arrived_ < arrived_.size()) position = arrived_[next_arrived_++];
    }
    if (position) {
      // on_done() for this state may still be running in the completing thread: it runs under
      // the state's lock, so unregistering (which takes that lock) waits for it to return.
      // After this nothing here refers to the state, which the caller may free.
      if (registered_[*position]) states_[*position]->remove_waiter(this);
      returned_[*position] = 1;
      return *position;
    }
    if (deadline && std::chrono::steady_clock::now() >= *deadline) {
      throw TimeoutError(std::to_string(unfinished) + " (of " + std::to_string(states_.size()) +
                         ") futures unfinished");
    }
    // Until something arrives (a state already returned may be freed: only the others count).
    const auto arrived = [&] { return signal_.load(std::memory_order_acquire) != seen; };
    help_while(states_, deadline, arrived, [&](std::size_t i) { return returned_[i] != 0; });
    if (arrived()) continue;
    if (spin_until([&] { return signal_.load(std::memory_order_acquire) != seen; })) continue;
    // Announce the sleep before re-checking the word (futex_wait compares it): an arrival
    // either sees sleeping_ and wakes us, or bumped signal_ before the check.
    sleeping_.store(true, std::memory_order_seq_cst);
    if (signal_.load(std::memory_order_seq_cst) == seen) {
      if (deadline) {
        futex_wait_until(signal_, seen, *deadline);
      } else {
        futex_wait(signal_, seen);
      }
    }
    sleeping_.store(false, std::memory_order_relaxed);
  }
}

}  // namespace concurrent::futures::detail
