// Shared pieces of the stress, fault-injection and soak suites: deterministic seeds, a small
// PRNG, scaling under sanitizers, and process statistics (RSS).
//
// Environment:
//   CFUTURES_STRESS_SEED=N    base seed (decimal or 0x hex); every test prints the seed it used
//                             and replays exactly the same operation sequences from it
//   CFUTURES_STRESS_SCALE=X   multiplies the iteration counts (default 1; sanitizer builds
//                             already divide them, see sanitizer_scale())
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "sanitizers.hpp"

namespace cfstress {

// The build's sanitizer, if any (the counts are scaled down under each).
inline constexpr const char* kSanitizer = cftest::kSanitizer;

// Base seed: CFUTURES_STRESS_SEED, else `fallback`.
std::uint64_t base_seed(std::uint64_t fallback = 0x5eed'cf00'2026ULL);

// Factor applied to iteration counts: 1 normally, 1/3 under ThreadSanitizer, 1/2 under
// AddressSanitizer (both run the code several times slower); times CFUTURES_STRESS_SCALE.
double sanitizer_scale();

// max(minimum, round(n * sanitizer_scale())).
int scaled(int n, int minimum = 1);

// splitmix64: tiny, fast, and good enough to pick operations; the same seed gives the same
// sequence on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (n > 0).
  std::uint64_t below(std::uint64_t n) noexcept { return next() % n; }
  // True with probability percent/100.
  bool chance(unsigned percent) noexcept { return below(100) < percent; }
  // Derives an independent generator (for a thread, a round, ...).
  Rng fork(std::uint64_t salt) noexcept { return Rng(next() ^ (salt * 0xd1342543de82ef95ULL)); }

 private:
  std::uint64_t state_;
};

// Skips the current GoogleTest test, which exposes a reported and still open bug, unless
// CFUTURES_STRESS_KNOWN_BUGS=1 (to check a fix). Use it only with the bug's description and
// remove it when the fix lands.
#define CFSTRESS_SKIP_KNOWN_BUG(description)                                                \
  do {                                                                                      \
    if (!::cfstress::run_known_bugs()) GTEST_SKIP() << "known open bug: " << (description); \
  } while (false)
bool run_known_bugs();

// Busy work without sleeping (a few microseconds per 1000 iterations).
inline void spin(std::uint64_t iterations) {
  for (std::uint64_t i = 0; i < iterations; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
}

// An array of 32-bit counters in shared memory (a memfd), so that tasks running in other
// processes (the process pool's workers, which are not forked from the test process) can count
// too: a worker maps it by path() (see counter_in). It holds one descriptor while it lives.
class SharedCounters {
 public:
  explicit SharedCounters(std::size_t count);
  ~SharedCounters();
  SharedCounters(const SharedCounters&) = delete;
  SharedCounters& operator=(const SharedCounters&) = delete;

  std::atomic<std::uint32_t>& operator[](std::size_t i) const noexcept { return counters_[i]; }
  std::size_t size() const noexcept { return count_; }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::size_t count_;
  std::atomic<std::uint32_t>* counters_;
};

// Counter `i` of the SharedCounters file at `path`, from any process. Each process maps a
// file once and keeps the mapping (no descriptor stays open).
std::atomic<std::uint32_t>& counter_in(const std::string& path, std::size_t i);

// Resident set size of this process, in KiB (VmRSS of /proc/self/status).
std::size_t rss_kib();

// Seconds since `start`, as a double.
double seconds_since(std::chrono::steady_clock::time_point start);

// "seed=0x... sanitizer=tsan scale=0.125": what a failure report needs to reproduce a run.
std::string reproduction_line(std::uint64_t seed);

}  // namespace cfstress
