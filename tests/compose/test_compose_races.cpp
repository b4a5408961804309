// Races of the compositions (run repeatedly: ctest --repeat until-fail:50, and under TSan):
// a continuation attached while its source completes, cancel() racing then, when_any with
// simultaneous completions, when_all completed from many threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cfutures/compose.hpp>
#include <latch>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;

constexpr int kRounds = 500;

// Runs `a` in a new thread and `b` in this one, released together.
template <class A, class B>
void race(A&& a, B&& b) {
  std::latch start(2);
  std::thread other([&] {
    start.arrive_and_wait();
    a();
  });
  start.arrive_and_wait();
  b();
  other.join();
}

TEST(ComposeRaces, ThenAttachedWhileTheSourceCompletes) {
  for (int round = 0; round < kRounds; ++round) {
    cf::Future<int> f;
    std::atomic<int> calls{0};
    cf::Future<int> g;
    race([&] { f.set_result(round); },
         [&] {
           g = f.then([&calls](int x) {
             calls.fetch_add(1);
             return x + 1;
           });
         });
    ASSERT_EQ(g.result(), round + 1);
    ASSERT_EQ(calls.load(), 1);
  }
}

TEST(ComposeRaces, CancelRacingThen) {
  for (int round = 0; round < kRounds; ++round) {
    cf::Future<int> f;
    std::atomic<int> calls{0};
    cf::Future<int> g;
    cf::Future<bool> h;
    race([&] { ASSERT_TRUE(f.cancel()); },
         [&] {
           g = f.then([&calls](int x) {
             calls.fetch_add(1);
             return x;
           });
           h = f.then([](const cf::Future<int>& done) { return done.cancelled(); });
         });
    ASSERT_THROW(g.result(), cf::CancelledError);
    ASSERT_TRUE(h.result()) << "the future form always runs, and sees the cancellation";
    ASSERT_EQ(calls.load(), 0);
  }
}

TEST(ComposeRaces, CancellingTheResultRacingTheSourceCompletion) {
  int cancelled_rounds = 0;
  for (int round = 0; round < kRounds; ++round) {
    cf::Future<int> f;
    std::atomic<int> calls{0};
    cf::Future<int> g = f.then([&calls](int x) {
      calls.fetch_add(1);
      return x;
    });
    bool cancelled = false;
    race([&] { f.set_result(round); }, [&] { cancelled = g.cancel(); });
    ASSERT_TRUE(g.done());
    if (cancelled) {
      ++cancelled_rounds;
      ASSERT_TRUE(g.cancelled());
      ASSERT_EQ(calls.load(), 0) << "a successful cancel() means fn never runs";
    } else {
      ASSERT_EQ(g.result(), round);
      ASSERT_EQ(calls.load(), 1);
    }
  }
  RecordProperty("cancelled_rounds", cancelled_rounds);
}

TEST(ComposeRaces, WhenAnyWithSimultaneousCompletions) {
  constexpr int kInputs = 4;
  for (int round = 0; round < kRounds / 5; ++round) {
    std::vector<cf::Future<int>> fs(kInputs);
    auto any = cf::when_any(fs);
    std::atomic<int> completions{0};
    any.add_done_callback([&](const auto&) { completions.fetch_add(1); });
    std::latch start(kInputs);
    std::vector<std::thread> threads;
    for (int i = 0; i < kInputs; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        fs[i].set_result(i);
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE(any.done());
    const auto& r = any.result();
    ASSERT_LT(r.index, static_cast<std::size_t>(kInputs));
    ASSERT_EQ(r.futures[r.index].result(), static_cast<int>(r.index));
    ASSERT_EQ(completions.load(), 1);
  }
}

TEST(ComposeRaces, WhenAnyLinkingWhileInputsComplete) {
  for (int round = 0; round < kRounds; ++round) {
    std::vector<cf::Future<int>> fs(64);
    cf::Future<cf::WhenAnyResult<cf::Future<int>>> any;
    race([&] { fs[40].set_result(40); }, [&] { any = cf::when_any(fs); });
    ASSERT_EQ(any.result().index, 40u);
  }
}

TEST(ComposeRaces, WhenAllCompletedFromManyThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  for (int round = 0; round < 20; ++round) {
    std::vector<cf::Future<int>> fs(kThreads * kPerThread);
    auto sum = cf::when_all(fs).then([](const std::vector<cf::Future<int>>& done) {
      long total = 0;
      for (const auto& f : done) total += f.result();
      return total;
    });
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = t; i < kThreads * kPerThread; i += kThreads) fs[i].set_result(i);
      });
    }
    for (auto& t : threads) t.join();
    const long n = kThreads * kPerThread;
    ASSERT_EQ(sum.result(), n * (n - 1) / 2);
  }
}

TEST(ComposeRaces, ThenChainsOverPoolTasks) {
  cf::ThreadPoolExecutor pool(2);
  std::vector<cf::Future<int>> results;
  for (int i = 0; i < 2000; ++i) {
    results.push_back(pool.submit([i] { return i; })
                          .then([](int x) { return x * 2; })
                          .then(pool, [](int x) { return x + 1; })
                          .then([&pool](int x) { return pool.submit([x] { return x - 1; }); }));
  }
  long total = 0;
  for (auto& f : results) total += f.result();
  EXPECT_EQ(total, 2L * (1999L * 2000 / 2));
}

}  // namespace
