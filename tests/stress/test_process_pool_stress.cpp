// The stress mix on cf::ProcessPoolExecutor: the same random mixes as for the thread
// pool (see stress_mix.hpp for the invariants), with tasks running in worker processes, maps
// in chunks, and a quarter of the pools recycling workers (max_tasks_per_child). Reproduce a
// failure with the CFUTURES_STRESS_SEED it prints.
#include <gtest/gtest.h>

#include "process_pool_target.hpp"
#include "stress_rounds.hpp"

namespace {

using cfstress::ProcessPoolTarget;
using cfstress::RoundsPlan;

TEST(ProcessPoolStress, Mix) {
  cfstress::run_rounds<ProcessPoolTarget>(RoundsPlan{.rounds = 8, .ops_per_thread = 300, .workers = {1, 2, 3}});
}

TEST(ProcessPoolStress, ShutdownRacesEverything) {
  cfstress::run_rounds<ProcessPoolTarget>(
      RoundsPlan{.rounds = 10, .ops_per_thread = 250, .racing_shutdowns = 1, .workers = {1, 2, 3}});
}

TEST(ProcessPoolStress, ConcurrentShutdowns) {
  cfstress::run_rounds<ProcessPoolTarget>(
      RoundsPlan{.rounds = 8, .ops_per_thread = 250, .racing_shutdowns = 3, .workers = {1, 2}});
}

}  // namespace
