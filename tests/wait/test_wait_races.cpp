// cf::wait while the futures complete concurrently: no completion is lost (CPython's tests
// test_pending_calls_race: 100 futures released at once), FIRST_COMPLETED returns with a done
// future, ALL_COMPLETED with all of them. Threads are lined up with barriers and gates.
#include <gtest/gtest.h>

#include <barrier>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"
#include "wait_helpers.hpp"

namespace {

using namespace waittest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

TEST(WaitRaces, HundredPoolFuturesReleasedAtOnce) {  // CPython's test_pending_calls_race
  cf::ThreadPoolExecutor pool(100);
  for (int round = 0; round < 5; ++round) {
    cftest::Gate gate;
    Futures fs;
    for (int i = 0; i < 100; ++i)
      fs.push_back(pool.submit([w = gate.waiter(), i] {
        w();
        return i;
      }));
    std::barrier start(2);
    std::thread releaser([&] {
      start.arrive_and_wait();
      gate.open();
    });
    start.arrive_and_wait();
    auto result = cf::wait(fs, cf::ALL_COMPLETED);
    releaser.join();
    ASSERT_EQ(result.done.size(), 100u) << "round " << round;
    ASSERT_TRUE(result.not_done.empty());
  }
}

// Completes `futures` from `threads` threads at once while the caller waits with `when`.
void complete_concurrently_while_waiting(int futures, int threads, cf::ReturnWhen when) {
  Futures fs(static_cast<std::size_t>(futures));
  std::barrier start(threads + 1);
  std::vector<std::thread> completers;
  for (int t = 0; t < threads; ++t) {
    completers.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = t; i < futures; i += threads) {
        auto& f = fs[static_cast<std::size_t>(i)];
        if (i % 7 == 3) {
          f.cancel();
        } else if (i % 7 == 5) {
          f.set_exception(std::make_exception_ptr(cftest::OSError()));
        } else {
          f.set_result(i);
        }
      }
    });
  }
  start.arrive_and_wait();
  auto result = cf::wait(fs, when);
  for (auto& c : completers) c.join();
  for (auto& f : result.done) ASSERT_TRUE(f.done());
  ASSERT_EQ(result.done.size() + result.not_done.size(), fs.size());
  if (when == cf::ALL_COMPLETED) {
    ASSERT_TRUE(result.not_done.empty());
  } else {
    ASSERT_FALSE(result.done.empty());
  }
  if (when == cf::FIRST_EXCEPTION && !result.not_done.empty()) {
    bool some_failed = false;
    for (auto& f : result.done) some_failed = some_failed || (!f.cancelled() && f.exception() != nullptr);
    ASSERT_TRUE(some_failed) << "FIRST_EXCEPTION returned early without an exception";
  }
}

TEST(WaitRaces, AllCompletedWhileFuturesCompleteConcurrently) {
  for (int i = 0; i < 300; ++i) complete_concurrently_while_waiting(100, 4, cf::ALL_COMPLETED);
}

TEST(WaitRaces, FirstCompletedWhileFuturesCompleteConcurrently) {
  for (int i = 0; i < 300; ++i) complete_concurrently_while_waiting(50, 3, cf::FIRST_COMPLETED);
}

TEST(WaitRaces, FirstExceptionWhileFuturesCompleteConcurrently) {
  for (int i = 0; i < 300; ++i) complete_concurrently_while_waiting(50, 3, cf::FIRST_EXCEPTION);
}

TEST(WaitRaces, ManyWaitersOnTheSameFutures) {
  for (int round = 0; round < 100; ++round) {
    Futures fs(10);
    std::barrier start(5);
    std::vector<std::thread> waiters;
    for (int w = 0; w < 4; ++w) {
      waiters.emplace_back([&, w] {
        start.arrive_and_wait();
        auto result = w % 2 == 0 ? cf::wait(fs) : cf::wait(fs, 1h, cf::FIRST_COMPLETED);
        EXPECT_FALSE(result.done.empty());
      });
    }
    start.arrive_and_wait();
    for (std::size_t i = 0; i < fs.size(); ++i) fs[i].set_result(static_cast<int>(i));
    for (auto& t : waiters) t.join();
  }
}

}  // namespace
