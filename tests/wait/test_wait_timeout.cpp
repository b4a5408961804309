// cf::wait with a timeout returns what is done so far and never throws TimeoutError (API.md
// "Waiting": "wait never throws TimeoutError"; CPython's test_timeout). The timeout is any
// std::chrono::duration; zero and negative only check, huge ones do not overflow.
#include <gtest/gtest.h>

#include <barrier>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"
#include "wait_helpers.hpp"

namespace {

using namespace waittest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

TEST(WaitTimeout, ReturnsPartialResultWithoutThrowing) {  // CPython's test_timeout
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto success = make_future(FState::Finished);
  auto failed = make_future(FState::Failed);
  auto cn = make_future(FState::CancelledNotified);
  auto task = pool.submit([w = gate.waiter()] {
    w();
    return 1;
  });
  cf::DoneAndNotDone<cf::Future<int>> result;
  const auto took = cftest::elapsed([&] {
    EXPECT_NO_THROW(result = cf::wait(Futures{success, failed, cn, task}, 50ms, cf::ALL_COMPLETED));
  });
  expect_split(result, {success, failed, cn}, {task});
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 5s);
}

TEST(WaitTimeout, EveryReturnWhenTimesOutQuietly) {
  for (auto when : {cf::FIRST_COMPLETED, cf::FIRST_EXCEPTION, cf::ALL_COMPLETED}) {
    cf::Future<int> a;
    cf::Future<int> b;
    const auto took = cftest::elapsed([&] { expect_split(cf::wait(Futures{a, b}, 30ms, when), {}, {a, b}); });
    EXPECT_GE(took, 30ms);
    EXPECT_LT(took, 5s);
  }
}

TEST(WaitTimeout, ZeroAndNegativeTimeoutsOnlyCheck) {
  auto done = make_future(FState::Finished);
  cf::Future<int> pending;
  for (auto timeout : {0ns, -1ns, std::chrono::nanoseconds(-1h), std::chrono::nanoseconds::min()}) {
    const auto took = cftest::elapsed([&] {
      expect_split(cf::wait(Futures{pending, done}, timeout), {done}, {pending});
    });
    EXPECT_LT(took, 1s);
  }
  expect_split(cf::wait(Futures{pending}, std::chrono::hours::min(), cf::FIRST_COMPLETED), {}, {pending});
}

TEST(WaitTimeout, AnyDurationType) {
  cf::Future<int> pending;
  for (auto fn : {+[](const Futures& fs) { return cf::wait(fs, std::chrono::duration<double>(0.03)); },
                  +[](const Futures& fs) { return cf::wait(fs, std::chrono::duration<float, std::milli>(30.0f)); },
                  +[](const Futures& fs) { return cf::wait(fs, std::chrono::microseconds(30'000)); }}) {
    const auto took = cftest::elapsed([&] { expect_split(fn(Futures{pending}), {}, {pending}); });
    EXPECT_GE(took, 30ms);
    EXPECT_LT(took, 5s);
  }
}

TEST(WaitTimeout, HugeTimeoutWaitsForTheCompletion) {  // no overflow into an immediate return
  for (auto when : {cf::FIRST_COMPLETED, cf::ALL_COMPLETED}) {
    cf::Future<int> f;
    cf::Future<cf::DoneAndNotDone<cf::Future<int>>> outcome;
    std::thread waiter([&] { outcome.set_result(cf::wait(Futures{f}, std::chrono::hours::max(), when)); });
    EXPECT_THROW((void)outcome.result(100ms), cf::TimeoutError) << "wait(hours::max()) returned early";
    f.set_result(1);
    waiter.join();
    expect_split(outcome.result(), {f}, {});
  }
}

TEST(WaitTimeout, ReturnsAsSoonAsTheConditionHoldsBeforeTheTimeout) {
  cf::Future<int> f;
  std::barrier start(2);
  std::thread completer([&] {
    start.arrive_and_wait();
    f.set_result(1);
  });
  start.arrive_and_wait();
  const auto took = cftest::elapsed([&] { expect_split(cf::wait(Futures{f}, 1h), {f}, {}); });
  completer.join();
  EXPECT_LT(took, 30s);
}

}  // namespace
