// Cooperative stop of running thread-pool calls (API.md "Cooperative stop of running thread
// tasks"): a callable whose first parameter is std::stop_token gets one; cancel() of the running
// call, shutdown(cancel_futures=true), and a map range dropped early or past its timeout ask it
// to stop; everything else behaves as for any call.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <stop_token>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

// Blocks until `token` is asked to stop (no polling: the wait ends in the stop callback).
void wait_for_stop(const std::stop_token& token) {
  std::mutex mutex;
  std::condition_variable_any stopped;
  std::unique_lock lock(mutex);
  stopped.wait(lock, token, [] { return false; });
}

TEST(ThreadPoolStopToken, ACallableThatTakesATokenGetsOne) {
  cf::ThreadPoolExecutor pool(2);
  auto f = pool.submit(
      [](std::stop_token token, int x) { return token.stop_possible() && !token.stop_requested() ? x : -1; }, 7);
  EXPECT_EQ(f.result(), 7);
}

TEST(ThreadPoolStopToken, ACallableThatAcceptsBothFormsIsCalledWithoutAToken) {
  struct Both {
    int operator()() const { return 1; }
    int operator()(std::stop_token) const { return 2; }
  };
  cf::ThreadPoolExecutor pool(1);
  EXPECT_EQ(pool.submit(Both{}).result(), 1);
}

TEST(ThreadPoolStopToken, MoveOnlyArgumentsAndAVoidCallTakeATokenToo) {
  cf::ThreadPoolExecutor pool(1);
  auto f = pool.submit([](std::stop_token, std::unique_ptr<int> p) { return *p; }, std::make_unique<int>(5));
  EXPECT_EQ(f.result(), 5);
  std::atomic<bool> ran{false};
  pool.submit([&ran](std::stop_token token) { ran = token.stop_possible(); }).result();
  EXPECT_TRUE(ran);
}

TEST(ThreadPoolStopToken, CancelOfTheRunningCallAsksItToStopAndReturnsFalse) {
  cf::ThreadPoolExecutor pool(1);
  std::latch started(1);
  auto f = pool.submit([&started](std::stop_token token) {
    started.count_down();
    wait_for_stop(token);
    return 42;
  });
  started.wait();
  EXPECT_FALSE(f.cancel());  // the call decides when to return
  EXPECT_EQ(f.result(), 42);
  EXPECT_FALSE(f.cancelled());
}

TEST(ThreadPoolStopToken, CancelOfAQueuedCallCancelsItAndItNeverRuns) {
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto blocker = pool.submit(gate.waiter());
  std::atomic<bool> ran{false};
  auto f = pool.submit([&ran](std::stop_token) { ran = true; });
  EXPECT_TRUE(f.cancel());
  gate.open();
  blocker.result();
  pool.shutdown();
  EXPECT_TRUE(f.cancelled());
  EXPECT_FALSE(ran);
}

TEST(ThreadPoolStopToken, CancelOfACallWithoutATokenStillReturnsFalse) {
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  std::latch started(1);
  auto f = pool.submit([&started, w = gate.waiter()] {
    started.count_down();
    w();
    return 3;
  });
  started.wait();
  EXPECT_FALSE(f.cancel());
  gate.open();
  EXPECT_EQ(f.result(), 3);
}

TEST(ThreadPoolStopToken, ShutdownWithCancelFuturesAsksTheRunningCallsToStop) {
  cf::ThreadPoolExecutor pool(2);
  std::latch started(2);
  auto stoppable = [&started](std::stop_token token, int x) {
    started.count_down();
    wait_for_stop(token);
    return x;
  };
  auto a = pool.submit(stoppable, 1);
  auto b = pool.submit(stoppable, 2);
  started.wait();
  auto queued = pool.submit(stoppable, 3);
  pool.shutdown(/*wait=*/true, /*cancel_futures=*/true);  // returns: the running calls stopped
  EXPECT_EQ(a.result(0s), 1);
  EXPECT_EQ(b.result(0s), 2);
  EXPECT_TRUE(queued.cancelled());
}

TEST(ThreadPoolStopToken, ShutdownWithoutCancelFuturesDoesNotAskToStop) {
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  std::latch started(1);
  auto f = pool.submit([&started, w = gate.waiter()](std::stop_token token) {
    started.count_down();
    w();
    return token.stop_requested();
  });
  started.wait();
  pool.shutdown(/*wait=*/false);
  gate.open();
  EXPECT_FALSE(f.result());
}

TEST(ThreadPoolStopToken, MapPassesTokensWithAndWithoutChunks) {
  cf::ThreadPoolExecutor pool(2);
  const std::vector<int> xs{1, 2, 3, 4, 5, 6, 7};
  auto twice = [](std::stop_token token, int x) { return token.stop_possible() ? 2 * x : -1; };
  for (std::size_t chunksize : {1u, 3u}) {
    std::vector<int> got;
    for (int r : pool.map(twice, xs, cf::MapOptions{.chunksize = chunksize})) got.push_back(r);
    EXPECT_EQ(got, (std::vector<int>{2, 4, 6, 8, 10, 12, 14})) << "chunksize " << chunksize;
  }
}

TEST(ThreadPoolStopToken, AMapRangeDestroyedEarlyAsksItsRunningCallToStop) {
  cf::ThreadPoolExecutor pool(1);
  std::latch started(1);
  std::atomic<int> stopped{0};
  {
    auto results = pool.map(
        [&](std::stop_token token, int) {
          started.count_down();
          wait_for_stop(token);
          stopped.fetch_add(1);
          return 0;
        },
        std::vector<int>{1, 2, 3});
    started.wait();
  }  // the first call runs, the others are queued: cancelled, and the first asked to stop
  pool.shutdown();
  EXPECT_EQ(stopped.load(), 1);
}

TEST(ThreadPoolStopToken, AMapPastItsTimeoutAsksItsRunningCallToStop) {
  cf::ThreadPoolExecutor pool(1);
  std::atomic<int> stopped{0};
  auto results = pool.map(
      [&](std::stop_token token, int) {
        wait_for_stop(token);
        stopped.fetch_add(1);
        return 0;
      },
      std::vector<int>{1, 2}, cf::MapOptions{.timeout = 100ms});
  EXPECT_THROW(for (int r : results) static_cast<void>(r), cf::TimeoutError);
  pool.shutdown();  // returns: the running call was asked to stop
  EXPECT_EQ(stopped.load(), 1);
}

TEST(ThreadPoolStopToken, TheBaseExecutorPassesTokensToo) {
  cf::ThreadPoolExecutor pool(1);
  cf::Executor& executor = pool;
  std::latch started(1);
  auto f = executor.submit([&started](std::stop_token token) {
    started.count_down();
    wait_for_stop(token);
    return 9;
  });
  started.wait();
  EXPECT_FALSE(f.cancel());
  EXPECT_EQ(f.result(), 9);
}

TEST(ThreadPoolStopToken, CancelRacingTheCallsStartNeverLosesTheStop) {
  // Whatever the interleaving, the future ends cancelled (cancel won) or with the call's value
  // after it saw the stop request (the call had started): never a call waiting forever.
  cf::ThreadPoolExecutor pool(4);
  for (int round = 0; round < 200; ++round) {
    auto f = pool.submit([](std::stop_token token) {
      wait_for_stop(token);
      return 1;
    });
    if (!f.cancel()) {
      EXPECT_EQ(f.result(), 1);  // it had started: cancel() asked it to stop
    }
    EXPECT_TRUE(f.done());
  }
}

}  // namespace
