// Worker thread names: "<prefix>_<i>", i = 0..max_workers-1, cut to Linux's 15 characters
// keeping the "_<i>" (thread_pool.hpp ThreadPoolOptions::thread_name_prefix); the default
// prefix is "ThreadPoolExecutor-<n>" (CPython's test_thread_names_assigned,
// test_thread_names_default; CPython: "Thread naming"). Names are read with
// pthread_getname_np inside the tasks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using testing::MatchesRegex;

// The names of the worker threads of `pool`, after making all `workers` of them run at once.
std::set<std::string> worker_names(cf::ThreadPoolExecutor& pool, int workers) {
  std::mutex mutex;
  std::set<std::string> names;
  cftest::Gate gate;
  cftest::Counter started;
  std::vector<cf::Future<void>> fs;
  for (int i = 0; i < workers; ++i) {
    fs.push_back(pool.submit([&, w = gate.waiter()] {
      {
        std::lock_guard lock(mutex);
        names.insert(cftest::current_thread_name());
      }
      started.add();
      w();
    }));
  }
  started.wait_for(workers);  // all run at once, so each ran on its own thread
  gate.open();
  for (auto& f : fs) f.result();
  return names;
}

TEST(ThreadPoolNames, ThreadNamesAssigned) {  // CPython's tests: prefix "SpecialPool" -> ^SpecialPool_[0-4]$
  cf::ThreadPoolExecutor pool(cf::ThreadPoolOptions{.max_workers = 5, .thread_name_prefix = "SpecialPool"});
  EXPECT_EQ(pool.thread_name_prefix(), "SpecialPool");
  auto names = worker_names(pool, 5);
  EXPECT_EQ(names, (std::set<std::string>{"SpecialPool_0", "SpecialPool_1", "SpecialPool_2", "SpecialPool_3",
                                          "SpecialPool_4"}));
  for (const auto& name : names) EXPECT_THAT(name, MatchesRegex("SpecialPool_[0-4]"));
}

TEST(ThreadPoolNames, ThreadNamesDefault) {  // CPython's tests: ThreadPoolExecutor-\d+_[0-4]$, cut to 15 chars
  cf::ThreadPoolExecutor pool(5);
  EXPECT_THAT(pool.thread_name_prefix(), MatchesRegex("ThreadPoolExecutor-[0-9]+"));
  auto names = worker_names(pool, 5);
  EXPECT_EQ(names.size(), 5u);
  for (const auto& name : names) {
    EXPECT_THAT(name, MatchesRegex("ThreadPoolEx.*_[0-4]"));
    EXPECT_LE(name.size(), 15u);
  }
  // Each pool has its own number.
  cf::ThreadPoolExecutor another(1);
  EXPECT_NE(another.thread_name_prefix(), pool.thread_name_prefix());
}

TEST(ThreadPoolNames, LongPrefixIsCutButKeepsTheIndex) {  // thread_pool.hpp: "cut to 15 characters, keeps the _<i>"
  cf::ThreadPoolExecutor pool(cf::ThreadPoolOptions{.max_workers = 12, .thread_name_prefix = "AVeryLongThreadPrefix"});
  EXPECT_EQ(pool.thread_name_prefix(), "AVeryLongThreadPrefix") << "the full prefix is kept";
  auto names = worker_names(pool, 12);
  EXPECT_EQ(names.count("AVeryLongThre_0"), 1u);
  EXPECT_EQ(names.count("AVeryLongThr_11"), 1u);
  for (const auto& name : names) EXPECT_LE(name.size(), 15u);
}

}  // namespace
