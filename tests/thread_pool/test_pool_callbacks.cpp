// Done-callbacks on thread-pool futures: they run in the worker that completed the task, once,
// in order; a callback that throws anything (a std::exception or not) is reported on stderr and
// never kills a worker, so a 1-worker pool keeps working (API.md decision 3; CPython:
// a BaseException from a callback kills a ThreadPoolExecutor worker for good).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using testing::HasSubstr;
using testing::internal::CaptureStderr;
using testing::internal::GetCapturedStderr;

TEST(ThreadPoolCallbacks, ThrowingCallbacksNeverKillAWorker) {  // decision 3
  struct NotAnException {};
  cf::ThreadPoolExecutor pool(1);
  CaptureStderr();
  for (int kind = 0; kind < 3; ++kind) {
    cftest::Gate gate;
    auto f = pool.submit([w = gate.waiter()] {
      w();
      return 1;
    });
    bool later_ran = false;
    f.add_done_callback([kind](const cf::Future<int>&) {
      if (kind == 0) throw std::runtime_error("doh!");
      if (kind == 1) throw 42;
      throw NotAnException{};
    });
    f.add_done_callback([&later_ran](const cf::Future<int>&) { later_ran = true; });
    gate.open();  // the callbacks run in the worker
    EXPECT_EQ(f.result(), 1);
    EXPECT_EQ(pool.submit([] { return 2; }).result(), 2) << "the only worker is still alive";
    EXPECT_TRUE(later_ran);
  }
  const std::string err = GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("exception calling callback for <Future at 0x"));
  EXPECT_THAT(err, HasSubstr("doh!"));
  EXPECT_THAT(err, HasSubstr("NotAnException"));
  EXPECT_EQ(pool.worker_count(), 1u);
}

TEST(ThreadPoolCallbacks, RunInTheWorkerThatCompletedTheTask) {  // CPython: callback thread rule [verified]
  cf::ThreadPoolExecutor pool(cf::ThreadPoolOptions{.max_workers = 1, .thread_name_prefix = "W"});
  cftest::Gate gate;
  auto f = pool.submit([w = gate.waiter()] { w(); });
  std::string ran_in;
  cftest::Counter ran;
  f.add_done_callback([&](const cf::Future<void>&) {
    ran_in = cftest::current_thread_name();
    ran.add();
  });
  gate.open();
  ran.wait_for(1);
  EXPECT_EQ(ran_in, "W_0");
  std::string late_ran_in;
  f.add_done_callback([&](const cf::Future<void>&) { late_ran_in = cftest::current_thread_name(); });
  EXPECT_EQ(late_ran_in, cftest::current_thread_name()) << "already done: runs in the caller";
}

TEST(ThreadPoolCallbacks, CancelledQueuedTaskRunsItsCallbacksInTheCanceller) {
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  cftest::occupy_workers(pool, gate);
  auto queued = pool.submit([] { return 1; });
  std::thread::id ran_in;
  int calls = 0;
  queued.add_done_callback([&](const cf::Future<int>&) {
    ran_in = std::this_thread::get_id();
    ++calls;
  });
  EXPECT_TRUE(queued.cancel());
  EXPECT_EQ(ran_in, std::this_thread::get_id());
  gate.open();
  pool.shutdown();  // the worker skips the cancelled task: no second run of the callbacks
  EXPECT_EQ(calls, 1);
}

TEST(ThreadPoolCallbacks, CallbackMaySubmitToTheSamePool) {
  cf::ThreadPoolExecutor pool(2);
  cf::Future<cf::Future<int>> chained;
  cftest::Gate gate;
  auto first = pool.submit([w = gate.waiter()] {
    w();
    return 20;
  });
  first.add_done_callback(
      [&](cf::Future<int> f) { chained.set_result(pool.submit([v = f.result()] { return v + 1; })); });
  gate.open();
  EXPECT_EQ(chained.result().result(), 21);
}

}  // namespace
