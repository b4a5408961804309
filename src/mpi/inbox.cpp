#include "inbox.hpp"

#include "cfutures/detail/futex.hpp"

namespace concurrent::futures::detail::mpi {
namespace {

// How long the consumer spins before it sleeps: long enough to catch a reply to a call in
// flight on the same machine, short enough not to matter when idle.
constexpr auto kSpinFor = std::chrono::microseconds(50);

}  // namespace

void Inbox::put(Delivery delivery) {
  {
    SpinGuard guard(lock_);
    items_.push_back(std::move(delivery));
  }
  sequence_.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) futex_wake_all(sequence_);
}

void Inbox::wake() noexcept {
  {
    SpinGuard guard(lock_);
    woken_ = true;
  }
  sequence_.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) futex_wake_all(sequence_);
}

bool Inbox::take_ready(std::vector<Delivery>& out) {
  SpinGuard guard(lock_);
  const bool woken = woken_;
  woken_ = false;
  if (items_.empty()) return woken;
  if (out.empty()) {
    out.swap(items_);
  } else {
    for (auto& item : items_) out.push_back(std::move(item));
    items_.clear();
  }
  return true;
}

bool Inbox::take(std::vector<Delivery>& out, std::chrono::steady_clock::time_point deadline) {
  const std::size_t had = out.size();
  const auto spin_until_time = std::chrono::steady_clock::now() + kSpinFor;
  for (;;) {
    // Read the word before looking, so that a put after the look changes it and the futex wait
    // below returns at once instead of sleeping through it.
    const std::uint32_t seen = sequence_.load(std::memory_order_seq_cst);
    if (take_ready(out)) return out.size() > had;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (now < spin_until_time) {
      while (sequence_.load(std::memory_order_relaxed) == seen && std::chrono::steady_clock::now() < spin_until_time) {
        cpu_relax();
      }
      continue;
    }
    sleeping_.store(true, std::memory_order_seq_cst);
    if (sequence_.load(std::memory_order_seq_cst) == seen) futex_wait_until(sequence_, seen, deadline);
    sleeping_.store(false, std::memory_order_relaxed);
  }
}

}  // namespace concurrent::futures::detail::mpi
