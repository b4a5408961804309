// Worker threads of cf::ThreadPoolExecutor: the default and invalid max_workers, lazy start,
// saturation, idle reuse, FIFO start order from one submitting thread, and workers gone after
// shutdown (API.md "cf::ThreadPoolExecutor" and "Worker control and introspection"; CPython
// test_max_workers_negative, test_default_workers, test_saturation,
// test_idle_thread_reuse, test_threads_terminate).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

TEST(ThreadPoolWorkers, DefaultWorkers) {  // CPython's tests: min(32, process_cpu_count() + 4)
  cf::ThreadPoolExecutor pool;
  EXPECT_EQ(pool.max_workers(), std::min<std::size_t>(32, cf::usable_cpu_count() + 4));
  EXPECT_GE(cf::usable_cpu_count(), 1u);
  EXPECT_LE(cf::usable_cpu_count(), std::max(1u, std::thread::hardware_concurrency()));
  cf::ThreadPoolExecutor from_options(cf::ThreadPoolOptions{});
  EXPECT_EQ(from_options.max_workers(), pool.max_workers());
  EXPECT_EQ(cf::ThreadPoolExecutor(7).max_workers(), 7u);
  EXPECT_EQ(cf::ThreadPoolExecutor(cf::ThreadPoolOptions{.max_workers = 64}).max_workers(), 64u) << "no upper bound";
}

TEST(ThreadPoolWorkers, MaxWorkersNegative) {  // CPython's tests: 0 and -1 -> "max_workers must be greater than 0"
  for (int bad : {0, -1, -100}) {
    try {
      cf::ThreadPoolExecutor pool(bad);
      FAIL() << "max_workers " << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), testing::HasSubstr("max_workers")) << e.what();
    }
    EXPECT_THROW(cf::ThreadPoolExecutor(cf::ThreadPoolOptions{.max_workers = bad}), std::invalid_argument);
  }
}

TEST(ThreadPoolWorkers, ThreadsStartLazily) {  // API.md: "Threads start lazily"
  cf::ThreadPoolExecutor pool(4);
  EXPECT_EQ(pool.worker_count(), 0u) << "no thread before the first submit";
  pool.submit([] {}).result();
  EXPECT_EQ(pool.worker_count(), 1u);
}

TEST(ThreadPoolWorkers,
     Saturation) {  // CPython's tests: 15 * max_workers blocking tasks -> exactly max_workers threads
  constexpr int kMaxWorkers = 4;
  cf::ThreadPoolExecutor pool(kMaxWorkers);
  cftest::Gate gate;
  for (int i = 0; i < 15 * kMaxWorkers; ++i) pool.submit(gate.waiter());
  EXPECT_EQ(pool.worker_count(), static_cast<std::size_t>(kMaxWorkers));
  gate.open();
  pool.shutdown();
}

TEST(ThreadPoolWorkers, IdleThreadReuse) {  // CPython's tests: 3 sequential submit().result() -> 1 thread
  cf::ThreadPoolExecutor pool(4);
  for (int i = 0; i < 3; ++i) pool.submit([] {}).result();
  EXPECT_EQ(pool.worker_count(), 1u);
  pool.shutdown();
}

TEST(ThreadPoolWorkers, ThreadsTerminate) {  // CPython's test_threads_terminate
  cf::ThreadPoolExecutor pool(5);
  cftest::Gate gate;
  for (int i = 0; i < 3; ++i) pool.submit(gate.waiter());
  EXPECT_EQ(pool.worker_count(), 3u) << "3 blocking tasks -> 3 threads";
  gate.open();
  pool.shutdown();
  EXPECT_EQ(pool.worker_count(), 0u) << "every worker exited and was joined";
}

TEST(ThreadPoolWorkers, ContextManagerShutdown) {  // CPython's tests: `with` block -> RAII scope
  std::vector<int> results;
  std::size_t before;
  {
    cf::ThreadPoolExecutor pool(3);
    before = pool.max_workers();
    for (int v : pool.map([](int x) { return x < 0 ? -x : x; }, std::vector<int>{-5, -4, -3, -2, -1, 0, 1, 2, 3, 4})) {
      results.push_back(v);
    }
  }  // the destructor joined the workers (the leak check counts this process's threads)
  EXPECT_EQ(before, 3u);
  EXPECT_EQ(results, (std::vector<int>{5, 4, 3, 2, 1, 0, 1, 2, 3, 4}));
}

TEST(ThreadPoolWorkers, TasksFromOneThreadStartInSubmissionOrder) {  // API.md: "start in submission order"
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  std::mutex mutex;
  std::vector<int> order;
  pool.submit(gate.waiter());  // queue everything behind a blocked worker
  std::vector<cf::Future<void>> fs;
  for (int i = 0; i < 200; ++i) {
    fs.push_back(pool.submit([&, i] {
      std::lock_guard lock(mutex);
      order.push_back(i);
    }));
  }
  gate.open();
  for (auto& f : fs) f.result();
  std::vector<int> expected(200);
  for (int i = 0; i < 200; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(order, expected);
}

TEST(ThreadPoolWorkers,
     WorkerSurvivesEveryKindOfThrow) {  // CPython: "any BaseException is stored ... the worker survives"
  cf::ThreadPoolExecutor pool(1);
  struct NotAnException {};
  EXPECT_THROW(pool.submit([] { throw std::runtime_error("x"); }).result(), std::runtime_error);
  EXPECT_THROW(pool.submit([] { throw 1; }).result(), int);
  EXPECT_THROW(pool.submit([] { throw NotAnException{}; }).result(), NotAnException);
  EXPECT_EQ(pool.submit([] { return 5; }).result(), 5);
  EXPECT_EQ(pool.worker_count(), 1u);
}

}  // namespace
