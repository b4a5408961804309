// Runs rounds of the stress mix (stress_mix.hpp) for a test: seeded, bounded in time, with the
// seed printed first (so even a crash or a CTest timeout shows how to replay it) and the
// violations and statistics printed at the end.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "stress_mix.hpp"

namespace cfstress {

struct RoundsPlan {
  int rounds = 10;           // before scaling
  int ops_per_thread = 600;  // before scaling
  int racing_shutdowns = 0;  // shutdown calls racing with the drivers, per round
  std::vector<int> workers = {1, 2, 3, 4, 8};
  double time_budget_s = 6;  // no new round starts after this
  bool gated_maps = true;
};

// A stable per-test salt, so two tests with the same base seed do not run the same rounds.
inline std::uint64_t salt_of(const std::string& name) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Adds the round statistics to `*total` if given.
template <class Target>
void run_rounds(const RoundsPlan& plan, Stats* total = nullptr) {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  const std::string name = std::string(info->test_suite_name()) + "." + info->name();
  const std::uint64_t seed = base_seed();
  std::printf("[stress] %s on %s: %s\n", name.c_str(), Target::kName, reproduction_line(seed).c_str());
  std::fflush(stdout);
  SCOPED_TRACE(reproduction_line(seed));
  Rng rng(seed ^ salt_of(name));
  Stats stats;
  Failures failures;
  const auto start = std::chrono::steady_clock::now();
  const int rounds = scaled(plan.rounds, 2);
  const int ops = scaled(plan.ops_per_thread, 50);
  int done = 0;
  for (; done < rounds && failures.count() == 0; ++done) {
    RoundConfig config = random_round(rng, ops, plan.racing_shutdowns, plan.workers);
    config.gated_maps = plan.gated_maps;
    Round<Target>(config, stats, failures).run();
    if (seconds_since(start) > plan.time_budget_s) {
      ++done;
      std::printf("[stress] time budget of %.0f s spent after %d of %d rounds\n", plan.time_budget_s, done, rounds);
      break;
    }
  }
  std::printf("[stress] %s: %.2f s; %s\n", name.c_str(), seconds_since(start), stats.describe().c_str());
  EXPECT_EQ(failures.count(), 0u) << failures.describe() << "\n" << reproduction_line(seed);
  if (total != nullptr) total->add(stats);
}

}  // namespace cfstress
