// Waiting inside a pool never deadlocks (API.md "Waiting inside a pool never deadlocks"):
// result(), exception(), wait() and as_completed() inside a thread-pool task, on a future of
// the same pool still queued, run queued work instead of blocking, even with one worker
// (CPython's documented deadlock example returns). A hang fails through the CTest timeout.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <latch>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

TEST(ThreadPoolWaitingHelps, CPythonsDocumentedDeadlockReturns) {
  // concurrent.futures documentation, ThreadPoolExecutor: wait_on_future with max_workers=1.
  cf::ThreadPoolExecutor executor(1);
  auto outer = executor.submit([&executor] {
    auto f = executor.submit([](double x, double y) { return std::pow(x, y); }, 5.0, 2.0);
    return f.result();
  });
  EXPECT_EQ(outer.result(), 25.0);
}

TEST(ThreadPoolWaitingHelps, TheNestedCallRunsInTheWaitingThread) {
  cf::ThreadPoolExecutor pool(1);
  auto outer = pool.submit([&pool] {
    const auto waiter = std::this_thread::get_id();
    return pool.submit([] { return std::this_thread::get_id(); }).result() == waiter;
  });
  EXPECT_TRUE(outer.result());
}

TEST(ThreadPoolWaitingHelps, ExceptionAndWaitAndTimedResultHelpToo) {
  cf::ThreadPoolExecutor pool(1);
  auto outer = pool.submit([&pool] {
    auto failing = pool.submit([]() -> int { throw cftest::OSError(); });
    const bool failed = failing.exception() != nullptr;
    auto waited = pool.submit([] { return 2; });
    cf::wait(std::vector<cf::Future<int>>{waited});
    auto timed = pool.submit([] { return 3; });
    return failed && waited.done() && timed.result(60s) == 3;
  });
  EXPECT_TRUE(outer.result());
}

TEST(ThreadPoolWaitingHelps, WaitAndAsCompletedOnManyQueuedCallsHelp) {
  cf::ThreadPoolExecutor pool(1);
  auto outer = pool.submit([&pool] {
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 10; ++i) fs.push_back(pool.submit([i] { return i; }));
    auto [done, not_done] = cf::wait(fs);
    int sum = 0;
    for (auto f : cf::as_completed(fs)) sum += f.result();
    std::vector<cf::Future<int>> more;
    for (int i = 0; i < 5; ++i) more.push_back(pool.submit([i] { return 10 * i; }));
    for (auto f : cf::as_completed(more)) sum += f.result();
    return done.size() == 10 && not_done.empty() ? sum : -1;
  });
  EXPECT_EQ(outer.result(), 45 + 100);
}

TEST(ThreadPoolWaitingHelps, FirstCompletedReturnsOnceOneIsDone) {
  cf::ThreadPoolExecutor pool(1);
  auto outer = pool.submit([&pool] {
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 3; ++i) fs.push_back(pool.submit([i] { return i; }));
    auto result = cf::wait(fs, cf::FIRST_COMPLETED);
    return result.done.size();
  });
  EXPECT_GE(outer.result(), 1u);
}

TEST(ThreadPoolWaitingHelps, RecursiveSubmitAndWaitInAPoolOfOne) {
  cf::ThreadPoolExecutor pool(1);
  std::function<long(int)> fib = [&](int n) -> long {
    if (n < 2) return n;
    auto a = pool.submit(fib, n - 1);
    auto b = pool.submit(fib, n - 2);
    return a.result() + b.result();
  };
  EXPECT_EQ(pool.submit(fib, 15).result(), 610);
}

TEST(ThreadPoolWaitingHelps, AMapReadInsideATaskHelps) {
  cf::ThreadPoolExecutor pool(1);
  auto outer = pool.submit([&pool] {
    int sum = 0;
    for (int r : pool.map([](int x) { return x * x; }, std::vector<int>{1, 2, 3})) sum += r;
    return sum;
  });
  EXPECT_EQ(outer.result(), 14);
}

TEST(ThreadPoolWaitingHelps, AFutureOfAnotherPoolIsWaitedForNotRun) {
  cf::ThreadPoolExecutor pool(1);
  cf::ThreadPoolExecutor other(1);
  cftest::Gate gate;
  auto blocker = other.submit(gate.waiter());
  auto queued_elsewhere = other.submit([] { return std::this_thread::get_id(); });
  std::latch waiting(1);
  auto outer = pool.submit([&] {
    waiting.count_down();
    return queued_elsewhere.result() != std::this_thread::get_id();
  });
  waiting.wait();
  gate.open();
  EXPECT_TRUE(outer.result());
}

TEST(ThreadPoolWaitingHelps, ACallRunningElsewhereIsWaitedFor) {
  // The awaited call already runs in another worker: the wait blocks until it returns.
  cf::ThreadPoolExecutor pool(2);
  cftest::Gate gate;
  std::latch started(1);
  auto running = pool.submit([&started, w = gate.waiter()] {
    started.count_down();
    w();
    return 7;
  });
  started.wait();
  auto outer = pool.submit([&] { return running.result(); });
  gate.open();
  EXPECT_EQ(outer.result(), 7);
}

}  // namespace
