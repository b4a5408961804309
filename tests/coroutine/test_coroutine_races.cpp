// Races of coroutines (run repeatedly: ctest --repeat until-fail:50, and under TSan): a
// co_await while its future completes, and resume_on racing a shutdown that cancels queued
// work (the handshake between submit() and the task that resumes).
#include <gtest/gtest.h>

#include <atomic>
#include <cfutures/coroutine.hpp>
#include <latch>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;

cf::Future<int> add_one(cf::Future<int> f, std::atomic<int>* resumes) {
  int x = co_await f;
  resumes->fetch_add(1);
  co_return x + 1;
}

TEST(CoroutineRaces, AwaitWhileTheFutureCompletes) {
  for (int round = 0; round < 500; ++round) {
    cf::Future<int> f;
    std::atomic<int> resumes{0};
    cf::Future<int> g;
    std::latch start(2);
    std::thread completer([&] {
      start.arrive_and_wait();
      f.set_result(round);
    });
    start.arrive_and_wait();
    g = add_one(f, &resumes);
    completer.join();
    ASSERT_EQ(g.result(), round + 1);
    ASSERT_EQ(resumes.load(), 1);
  }
}

cf::Future<int> hop(cf::ThreadPoolExecutor& pool) {
  try {
    co_await cf::resume_on(pool);
    co_return 1;
  } catch (const cf::CancelledError&) {
    co_return 2;
  } catch (const cf::ExecutorShutdown&) {
    co_return 3;
  }
}

TEST(CoroutineRaces, ResumeOnRacingShutdownWithCancelFutures) {
  for (int round = 0; round < 50; ++round) {
    cf::ThreadPoolExecutor pool(2);
    std::vector<cf::Future<int>> hops;
    std::latch start(2);
    std::thread stopper([&] {
      start.arrive_and_wait();
      pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
    });
    start.arrive_and_wait();
    for (int i = 0; i < 200; ++i) hops.push_back(hop(pool));
    stopper.join();
    pool.shutdown();
    for (auto& h : hops) {
      const int outcome = h.result(std::chrono::seconds(30));
      ASSERT_TRUE(outcome >= 1 && outcome <= 3) << outcome;
    }
  }
}

}  // namespace
