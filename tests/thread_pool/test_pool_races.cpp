// Races on a thread pool (the race list): cancel racing with the task's start (each
// future ends cancelled-and-never-ran or ran-and-finished, never both or neither); shutdown
// racing with submit from many threads (every submit either throws ExecutorShutdown or its
// future completes); shutdown(cancel_futures) racing with submits; callbacks added while pool
// tasks complete run exactly once. Threads are lined up with barriers, never with sleeps.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

TEST(ThreadPoolRaces, CancelRacingWithStart) {
  cf::ThreadPoolExecutor pool(2);
  constexpr int kIterations = 3000;
  int cancelled_count = 0;
  for (int i = 0; i < kIterations; ++i) {
    std::atomic<int> ran{0};
    auto f = pool.submit([&ran] {
      ran.fetch_add(1);
      return 1;
    });
    const bool cancelled = f.cancel();
    // Wait for the outcome either way: result() of a cancelled future throws at once.
    try {
      EXPECT_EQ(f.result(), 1);
    } catch (const cf::CancelledError&) {
    }
    pool.submit([] {}).result();  // the worker has moved past f: a run would have happened by now
    if (cancelled) {
      ++cancelled_count;
      ASSERT_TRUE(f.cancelled());
      ASSERT_EQ(ran.load(), 0) << "iteration " << i << ": cancelled, but the call ran";
    } else {
      ASSERT_FALSE(f.cancelled());
      ASSERT_EQ(ran.load(), 1) << "iteration " << i << ": not cancelled, but the call did not run once";
      ASSERT_EQ(f.result(0s), 1);
    }
  }
  RecordProperty("cancelled", cancelled_count);
}

TEST(ThreadPoolRaces, CancelFromAnotherThreadRacingWithStart) {
  cf::ThreadPoolExecutor pool(2);
  for (int i = 0; i < 1000; ++i) {
    std::atomic<int> ran{0};
    std::barrier start(2);
    cf::Future<int> f = pool.submit([&ran] {
      ran.fetch_add(1);
      return 1;
    });
    bool cancelled = false;
    std::thread canceller([&] {
      start.arrive_and_wait();
      cancelled = f.cancel();
    });
    start.arrive_and_wait();
    canceller.join();
    ASSERT_TRUE(cancelled || !f.cancelled());
    if (cancelled) {
      ASSERT_THROW(f.result(), cf::CancelledError);
    } else {
      ASSERT_EQ(f.result(), 1);
    }
    pool.submit([] {}).result();  // FIFO with... any worker: wait until f was taken off the queue
    ASSERT_EQ(ran.load(), cancelled ? 0 : 1) << "iteration " << i;
  }
}

TEST(ThreadPoolRaces, ShutdownRacingWithSubmitFromManyThreads) {
  constexpr int kSubmitters = 4;
  for (int round = 0; round < 30; ++round) {
    cf::ThreadPoolExecutor pool(3);
    std::barrier start(kSubmitters + 1);
    std::vector<std::vector<cf::Future<int>>> accepted(kSubmitters);
    std::atomic<int> refused{0};
    std::vector<std::thread> submitters;
    for (int t = 0; t < kSubmitters; ++t) {
      submitters.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0;; ++i) {
          try {
            accepted[static_cast<std::size_t>(t)].push_back(pool.submit([i] { return i; }));
          } catch (const cf::ExecutorShutdown&) {
            refused.fetch_add(1);
            return;
          }
        }
      });
    }
    start.arrive_and_wait();
    pool.shutdown(/*wait=*/round % 2 == 0);
    for (auto& s : submitters) s.join();
    ASSERT_EQ(refused.load(), kSubmitters) << "every submitter was eventually refused";
    for (auto& list : accepted) {
      for (std::size_t i = 0; i < list.size(); ++i) {
        ASSERT_EQ(list[i].result(), static_cast<int>(i)) << "an accepted task must run";
      }
    }
  }
}

TEST(ThreadPoolRaces, ShutdownCancelFuturesRacingWithSubmits) {
  constexpr int kSubmitters = 3;
  for (int round = 0; round < 30; ++round) {
    cf::ThreadPoolExecutor pool(2);
    std::barrier start(kSubmitters + 1);
    std::vector<std::vector<cf::Future<int>>> accepted(kSubmitters);
    std::vector<std::thread> submitters;
    for (int t = 0; t < kSubmitters; ++t) {
      submitters.emplace_back([&, t] {
        start.arrive_and_wait();
        try {
          for (int i = 0;; ++i) accepted[static_cast<std::size_t>(t)].push_back(pool.submit([i] { return i; }));
        } catch (const cf::ExecutorShutdown&) {
        }
      });
    }
    start.arrive_and_wait();
    pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
    for (auto& s : submitters) s.join();
    // Every accepted future ends: finished with its value, or cancelled. None hangs.
    std::vector<cf::Future<int>> all;
    for (auto& list : accepted) all.insert(all.end(), list.begin(), list.end());
    auto [done, not_done] = cf::wait(all, 30s);
    ASSERT_TRUE(not_done.empty()) << not_done.size() << " futures never completed";
    for (auto& list : accepted) {
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (!list[i].cancelled()) {
          ASSERT_EQ(list[i].result(), static_cast<int>(i));
        }
      }
    }
  }
}

TEST(ThreadPoolRaces, CallbacksAddedWhilePoolTasksCompleteRunOnce) {
  cf::ThreadPoolExecutor pool(3);
  constexpr int kTasks = 2000;
  std::vector<std::atomic<int>> calls(kTasks);
  std::vector<cf::Future<int>> fs;
  fs.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    fs.push_back(pool.submit([i] { return i; }));
    fs.back().add_done_callback([&calls, i](cf::Future<int> f) {
      EXPECT_EQ(f.result(0s), i);
      calls[static_cast<std::size_t>(i)].fetch_add(1);
    });
  }
  pool.shutdown();  // every task done; their callbacks ran in the workers or here
  for (int i = 0; i < kTasks; ++i) ASSERT_EQ(calls[static_cast<std::size_t>(i)].load(), 1) << "task " << i;
}

}  // namespace
