// The stress mix on cf::ThreadPoolExecutor: random mixes of every operation from
// several threads, with shutdown(wait, cancel_futures) racing with them; see stress_mix.hpp
// for the invariants checked. Reproduce a failure with the CFUTURES_STRESS_SEED it prints.
#include <gtest/gtest.h>

#include "stress_rounds.hpp"

namespace {

using cfstress::RoundsPlan;
using cfstress::ThreadPoolTarget;

TEST(ThreadPoolStress, Mix) {
  cfstress::run_rounds<ThreadPoolTarget>(RoundsPlan{.rounds = 180, .ops_per_thread = 2000});
}

TEST(ThreadPoolStress, ShutdownRacesEverything) {
  cfstress::run_rounds<ThreadPoolTarget>(RoundsPlan{.rounds = 400, .ops_per_thread = 1000, .racing_shutdowns = 1});
}

TEST(ThreadPoolStress, ConcurrentShutdowns) {
  cfstress::run_rounds<ThreadPoolTarget>(RoundsPlan{.rounds = 400, .ops_per_thread = 1000, .racing_shutdowns = 3});
}

TEST(ThreadPoolStress, OneWorkerKeepsSubmissionOrder) {
  cfstress::run_rounds<ThreadPoolTarget>(
      RoundsPlan{.rounds = 150, .ops_per_thread = 2000, .racing_shutdowns = 0, .workers = {1}});
}

TEST(ThreadPoolStress, ManyWorkers) {
  cfstress::run_rounds<ThreadPoolTarget>(
      RoundsPlan{.rounds = 120, .ops_per_thread = 2000, .racing_shutdowns = 1, .workers = {16, 32}});
}

}  // namespace
