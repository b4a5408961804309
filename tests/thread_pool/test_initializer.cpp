// ThreadPoolOptions::initializer: runs once at the start of each worker thread, before any
// task; if it throws, the pool is broken: pending and later work fail with BrokenThreadPool
// and the failure is reported on stderr (API.md "cf::ThreadPoolExecutor"; CPython test_init.py
// InitializerMixin.test_initializer, FailingInitializerMixin.test_initializer; CPython's docs,
// "initializer").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using testing::HasSubstr;
using testing::internal::CaptureStderr;
using testing::internal::GetCapturedStderr;

thread_local std::string tl_initialized;  // what the initializer left for the tasks of its thread

TEST(ThreadPoolInitializer, Initializer) {  // CPython's tests: every task sees 'initialized'
  std::mutex mutex;
  std::multiset<std::thread::id> initialized_threads;
  cf::ThreadPoolExecutor pool(cf::ThreadPoolOptions{.max_workers = 2, .initializer = [&] {
                                                      tl_initialized = "initialized";
                                                      std::lock_guard lock(mutex);
                                                      initialized_threads.insert(std::this_thread::get_id());
                                                    }});
  std::vector<cf::Future<std::pair<std::string, std::thread::id>>> fs;
  for (int i = 0; i < 20; ++i)
    fs.push_back(pool.submit([] { return std::pair(tl_initialized, std::this_thread::get_id()); }));
  for (auto& f : fs) {
    EXPECT_EQ(f.result().first, "initialized");
    std::lock_guard lock(mutex);
    EXPECT_EQ(initialized_threads.count(f.result().second), 1u) << "the task's thread ran the initializer once";
  }
  EXPECT_EQ(tl_initialized, "") << "the initializer ran in the workers, not here";
}

TEST(ThreadPoolInitializer, RunsOncePerWorkerBeforeItsTasks) {
  std::atomic<int> initializer_runs{0};
  cftest::Gate gate;
  cf::ThreadPoolExecutor pool(
      cf::ThreadPoolOptions{.max_workers = 3, .initializer = [&] { initializer_runs.fetch_add(1); }});
  cftest::Counter started;
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 3; ++i) {
    fs.push_back(pool.submit([&, w = gate.waiter()] {
      started.add();
      w();
      return initializer_runs.load();
    }));
  }
  started.wait_for(3);
  EXPECT_EQ(pool.worker_count(), 3u);
  EXPECT_EQ(initializer_runs.load(), 3) << "once per worker, each before its first task";
  gate.open();
  for (int i = 0; i < 30; ++i) pool.submit([] {}).result();
  EXPECT_EQ(initializer_runs.load(), 3) << "not again for later tasks";
}

TEST(ThreadPoolInitializer, FailingInitializerBreaksThePool) {  // CPython's tests
  CaptureStderr();
  {
    cf::ThreadPoolExecutor pool(cf::ThreadPoolOptions{
        .max_workers = 2, .initializer = [] { throw std::invalid_argument("error in initializer"); }});
    // The failure is asynchronous: submit() may succeed and the future fail, or submit() may
    // throw at once (CPython's test accepts both).
    try {
      auto f = pool.submit([] { return 1; });
      EXPECT_THROW(f.result(), cf::BrokenThreadPool);
      EXPECT_THROW(f.result(), cf::BrokenExecutor);
      try {
        f.result();
      } catch (const cf::BrokenThreadPool& e) {
        EXPECT_STREQ(e.what(), "A thread initializer failed, the thread pool is not usable anymore");
      }
    } catch (const cf::BrokenThreadPool&) {
    }
    // Once a future has failed (or submit threw), the pool is broken for good.
    EXPECT_THROW(pool.submit([] { return 2; }), cf::BrokenThreadPool);
    EXPECT_THROW((void)pool.map([](int x) { return x; }, std::vector<int>{1}), cf::BrokenExecutor);
  }
  const std::string err = GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("Exception in initializer"));
  EXPECT_THAT(err, HasSubstr("error in initializer"));
}

TEST(ThreadPoolInitializer, FailingInitializerFailsEveryQueuedFuture) {  // CPython: "the work queue is drained"
  CaptureStderr();
  std::vector<cf::Future<int>> fs;
  {
    cftest::Gate gate;
    cf::ThreadPoolExecutor pool(cf::ThreadPoolOptions{.max_workers = 1, .initializer = [w = gate.waiter()] {
                                                        w();
                                                        throw 42;  // not even a std::exception
                                                      }});
    for (int i = 0; i < 10; ++i) fs.push_back(pool.submit([i] { return i; }));  // queued behind the initializer
    gate.open();
    for (auto& f : fs) EXPECT_THROW(f.result(), cf::BrokenThreadPool);
  }
  const std::string err = GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("Exception in initializer"));
}

}  // namespace
