// Soak: the stress mix of tests/stress, round after round on fresh pools, for a set
// time, reporting throughput and resident memory as it goes, so that slow leaks show. Not part
// of CI (label "soak"); run it with
//
//   CFUTURES_SOAK_SECONDS=600 ctest --test-dir build -L soak --output-on-failure
//
// Environment: CFUTURES_SOAK_SECONDS (default 600), CFUTURES_SOAK_REPORT_SECONDS (default 30),
// CFUTURES_STRESS_SEED (the base seed, as for the stress tests).
//
// Pass criterion for memory: after a warm-up (a fifth of the run, at most 60 s), the RSS at
// the end may exceed the RSS after the warm-up by at most 8 MiB + 10%. Why that bound: the mix
// allocates nothing that should outlive a round, but glibc malloc keeps freed memory in
// per-thread arenas (up to 8 per core) that are reused, not returned, and pools of 1 to 32
// workers come and go, so RSS may wander by a few MiB around a plateau (measured: flat at
// 8.3 MiB). A leak per task is far larger: 64 bytes per task is 61 MiB per million tasks, and
// ten minutes submit about ten million. (A leak per round, ~35 rounds/s, would need about
// 400 bytes per round to cross the bound in ten minutes; the printed slope shows smaller ones.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "process_pool_target.hpp"
#include "stress_mix.hpp"

namespace {

using namespace cfstress;

double env_seconds(const char* name, double fallback) {
  const char* s = std::getenv(name);
  return s != nullptr && *s != '\0' ? std::strtod(s, nullptr) : fallback;
}

struct Sample {
  double t;
  double rss_mib;
};

// Least-squares slope of RSS over time, in MiB per minute.
double slope_mib_per_min(const std::vector<Sample>& samples) {
  if (samples.size() < 2) return 0;
  double mt = 0, mr = 0;
  for (const auto& s : samples) mt += s.t, mr += s.rss_mib;
  mt /= static_cast<double>(samples.size());
  mr /= static_cast<double>(samples.size());
  double num = 0, den = 0;
  for (const auto& s : samples) num += (s.t - mt) * (s.rss_mib - mr), den += (s.t - mt) * (s.t - mt);
  return den > 0 ? num / den * 60 : 0;
}

// Rounds alternate between the pools: three on the thread pool, then one on the process pool.
void soak() {
  const double duration = env_seconds("CFUTURES_SOAK_SECONDS", 600);
  const double every = env_seconds("CFUTURES_SOAK_REPORT_SECONDS", 30);
  const double warmup = std::min(60.0, duration / 5);
  const std::uint64_t seed = base_seed();
  std::printf("[soak] thread and process pools for %.0f s (report every %.0f s, warm-up %.0f s); %s\n", duration, every,
              warmup, reproduction_line(seed).c_str());
  std::printf("[soak] %8s %8s %12s %12s %10s\n", "time_s", "rounds", "ops_per_s", "tasks_per_s", "rss_mib");
  std::fflush(stdout);
  SCOPED_TRACE(reproduction_line(seed));

  Rng rng(seed ^ 0x50a4ULL);
  Stats total;
  Failures failures;
  std::vector<Sample> after_warmup;
  const auto start = std::chrono::steady_clock::now();
  double next_report = every;
  std::uint64_t last_ops = 0, last_tasks = 0;
  double last_t = 0;
  double rss_at_warmup = -1;
  std::uint64_t round = 0;
  while (failures.count() == 0) {
    const double t = seconds_since(start);
    if (t >= duration) break;
    const int racing = static_cast<int>(rng.below(3));
    if (++round % 4 != 0) {
      RoundConfig config = random_round(rng, scaled(1000, 50), racing, {1, 2, 3, 4, 8, 16, 32});
      Round<ThreadPoolTarget>(config, total, failures).run();
    } else {
      RoundConfig config = random_round(rng, scaled(300, 50), racing, {1, 2, 3});
      Round<ProcessPoolTarget>(config, total, failures).run();
    }
    const double now = seconds_since(start);
    if (now >= next_report || now >= duration) {
      const double rss = static_cast<double>(rss_kib()) / 1024;
      const double dt = now - last_t;
      std::printf("[soak] %8.1f %8llu %12.0f %12.0f %10.1f\n", now,
                  static_cast<unsigned long long>(total.rounds.load()),
                  static_cast<double>(total.ops.load() - last_ops) / dt,
                  static_cast<double>(total.submitted.load() - last_tasks) / dt, rss);
      std::fflush(stdout);
      last_ops = total.ops.load(), last_tasks = total.submitted.load(), last_t = now;
      while (next_report <= now) next_report += every;
      if (now >= warmup) {
        if (rss_at_warmup < 0) rss_at_warmup = rss;
        after_warmup.push_back({now, rss});
      }
    }
  }
  const double elapsed = seconds_since(start);
  std::printf("[soak] done after %.1f s: %s\n", elapsed, total.describe().c_str());
  EXPECT_EQ(failures.count(), 0u) << failures.describe() << "\n" << reproduction_line(seed);
  if (after_warmup.size() >= 2) {
    const double end_rss = after_warmup.back().rss_mib;
    const double bound = rss_at_warmup + 8 + rss_at_warmup * 0.10;
    std::printf("[soak] RSS after warm-up %.1f MiB, at the end %.1f MiB (bound %.1f MiB), slope %+.3f MiB/min\n",
                rss_at_warmup, end_rss, bound, slope_mib_per_min(after_warmup));
    EXPECT_LE(end_rss, bound) << "resident memory grew from " << rss_at_warmup << " MiB after the warm-up to "
                              << end_rss << " MiB: a leak";
  }
}

TEST(Soak, StressMixOnBothPools) { soak(); }

}  // namespace
