// cf::as_completed while futures complete concurrently from several threads: every distinct
// future is yielded exactly once and only once it is done; with one completing thread the
// yield order is the completion order (as CPython tests it).
#include <gtest/gtest.h>

#include <barrier>
#include <thread>
#include <unordered_set>
#include <vector>

#include "as_completed_helpers.hpp"

namespace {

using namespace actest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

TEST(AsCompletedRaces, EveryFutureYieldedOnceWhileCompletingConcurrently) {
  constexpr int kFutures = 64;
  constexpr int kThreads = 3;
  for (int round = 0; round < 200; ++round) {
    Futures fs(kFutures);
    std::barrier start(kThreads + 1);
    std::vector<std::thread> completers;
    for (int t = 0; t < kThreads; ++t) {
      completers.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = t; i < kFutures; i += kThreads) {
          auto& f = fs[static_cast<std::size_t>(i)];
          if (i % 5 == 0) {
            f.cancel();
          } else {
            f.set_result(i);
          }
        }
      });
    }
    start.arrive_and_wait();
    std::unordered_set<cf::Future<int>> seen;
    for (auto f : cf::as_completed(fs)) {
      ASSERT_TRUE(f.done());
      ASSERT_TRUE(seen.insert(f).second) << "yielded twice";
    }
    for (auto& c : completers) c.join();
    ASSERT_EQ(seen.size(), fs.size());
  }
}

TEST(AsCompletedRaces, OneCompleterYieldsInCompletionOrder) {
  constexpr int kFutures = 32;
  for (int round = 0; round < 100; ++round) {
    Futures fs(kFutures);
    auto ac = cf::as_completed(fs);
    std::barrier start(2);
    std::thread completer([&] {
      start.arrive_and_wait();
      for (int i = kFutures - 1; i >= 0; --i) fs[static_cast<std::size_t>(i)].set_result(i);
    });
    start.arrive_and_wait();
    auto yielded = drain(ac);
    completer.join();
    ASSERT_EQ(yielded.size(), fs.size());
    for (int i = 0; i < kFutures; ++i) ASSERT_EQ(yielded[static_cast<std::size_t>(i)].result(), kFutures - 1 - i);
  }
}

TEST(AsCompletedRaces, PoolTasksCompletingWhileIterating) {
  cf::ThreadPoolExecutor pool(4);
  for (int round = 0; round < 50; ++round) {
    Futures fs;
    for (int i = 0; i < 50; ++i) fs.push_back(pool.submit([i] { return i; }));
    int sum = 0;
    std::size_t count = 0;
    for (auto f : cf::as_completed(fs, 30s)) {
      sum += f.result();
      ++count;
    }
    ASSERT_EQ(count, fs.size());
    ASSERT_EQ(sum, 49 * 50 / 2);
  }
}

}  // namespace
