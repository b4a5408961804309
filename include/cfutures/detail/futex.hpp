// Waiting primitives for the hot path: a futex on a 32-bit atomic word, a CPU pause, and a
// spin-then-yield backoff. Linux only (futex(2)); the process pool is Linux-only anyway.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace concurrent::futures::detail {

// Blocks while `word == expected`, until woken by futex_wake, a signal, or `deadline` passes.
// Spurious returns are allowed: callers re-check their condition in a loop.
void futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept;
void futex_wait_until(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::chrono::steady_clock::time_point deadline) noexcept;
// Wakes up to `count` threads blocked in futex_wait on `word`.
void futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept;
void futex_wake_all(const std::atomic<std::uint32_t>& word) noexcept;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spin budget before a waiter parks. Waking a parked thread on another vCPU costs ~45 us here
// (measured on a 2-vCPU cloud machine), so a waiter spins for a window of that order first. It yields
// the CPU every `kYieldEvery` spins so that a spinner never starves the thread it waits for
// when both share one CPU: with 128 a warm round trip on a loaded 2-vCPU machine took ~10 us
// (each hand-off waited a yield interval), with 16 ~3.8 us, and no slower with free CPUs
// (bench/notes.md, "Round trips"); 4 cost 20% of throughput.
inline constexpr int kSpinLimit = 2000;
inline constexpr int kYieldEvery = 16;

// Yields the CPU (sched_yield). Out of line to keep <sched.h> out of public headers.
void yield_now() noexcept;

// Spins until `ready()` is true or the budget is spent; returns ready().
template <class Pred>
bool spin_until(Pred&& ready, int limit = kSpinLimit) noexcept(noexcept(ready())) {
  for (int i = 1; i <= limit; ++i) {
    if (ready()) return true;
    if (i % kYieldEvery == 0) {
      yield_now();
    } else {
      cpu_relax();
    }
  }
  return ready();
}

}  // namespace concurrent::futures::detail
