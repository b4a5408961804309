// cf::wait with FIRST_COMPLETED, FIRST_EXCEPTION and ALL_COMPLETED (API.md "Waiting"; CPython
// test_wait.py ; decision 1: a cancelled future is done for wait()). Futures are
// completed by another thread or by a thread pool; lists are compared in input order.
#include <gtest/gtest.h>

#include <barrier>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"
#include "wait_helpers.hpp"

namespace {

using namespace waittest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

TEST(WaitReturnWhen, FirstCompletedWaitsForACompletion) {  // CPython's test_first_completed (without the quirk)
  cf::ThreadPoolExecutor pool(2);
  cftest::Gate sleeper_gate;
  auto sleeper = pool.submit([w = sleeper_gate.waiter()] {
    w();
    return 0;
  });
  cf::Future<int> mul;  // completed by another thread while wait() waits
  std::barrier start(2);
  std::thread completer([&] {
    start.arrive_and_wait();
    mul.set_result(2 * 21);
  });
  start.arrive_and_wait();
  auto result = cf::wait(Futures{mul, sleeper}, cf::FIRST_COMPLETED);
  completer.join();
  expect_split(result, {mul}, {sleeper});
}

TEST(WaitReturnWhen, FirstCompletedCountsACancelledFutureAsDone) {  // CPython's tests adapted: decision 1
  // CPython lists CANCELLED_FUTURE in not_done and would wait for `mul`; cfutures counts the
  // cancelled future as done, so wait() returns at once.
  auto cancelled = make_future(FState::Cancelled);
  cf::Future<int> pending;
  auto result = cf::wait(Futures{cancelled, pending}, cf::FIRST_COMPLETED);
  expect_split(result, {cancelled}, {pending});
}

TEST(WaitReturnWhen, FirstCompletedSomeAlreadyCompleted) {  // CPython's tests
  auto cn = make_future(FState::CancelledNotified);
  auto success = make_future(FState::Finished);
  cf::Future<int> sleeper;
  auto result = cf::wait(Futures{cn, success, sleeper}, cf::FIRST_COMPLETED);
  expect_split(result, {cn, success}, {sleeper});
}

TEST(WaitReturnWhen, FirstException) {  // CPython's test_first_exception
  cf::ThreadPoolExecutor pool(3);
  cftest::Gate raise_gate;
  cftest::Gate sleep_gate;
  auto mul = pool.submit([](int a, int b) { return a * b; }, 21, 2);
  EXPECT_EQ(mul.result(), 42);
  auto raiser = pool.submit([w = raise_gate.waiter()]() -> int {
    w();
    throw std::runtime_error("raised");
  });
  auto sleeper = pool.submit([w = sleep_gate.waiter()] {
    w();
    return 3;
  });
  raise_gate.open();
  auto result = cf::wait(Futures{mul, raiser, sleeper}, cf::FIRST_EXCEPTION);
  expect_split(result, {mul, raiser}, {sleeper});
}

TEST(WaitReturnWhen, FirstExceptionSomeAlreadyComplete) {  // CPython's tests adapted: decision 1
  auto success = make_future(FState::Finished);
  auto cancelled = make_future(FState::Cancelled);
  auto cn = make_future(FState::CancelledNotified);
  cf::Future<int> divmod;
  cf::Future<int> sleeper;
  std::barrier start(2);
  std::thread raiser([&] {
    start.arrive_and_wait();
    divmod.set_exception(std::make_exception_ptr(std::domain_error("division by zero")));
  });
  start.arrive_and_wait();
  auto result = cf::wait(Futures{success, cancelled, cn, divmod, sleeper}, cf::FIRST_EXCEPTION);
  raiser.join();
  // CPython puts CANCELLED_FUTURE in not_done; here it is done (decision 1). A cancelled
  // future is not an exception: wait() still returned because of divmod.
  expect_split(result, {success, cancelled, cn, divmod}, {sleeper});
}

TEST(WaitReturnWhen, FirstExceptionOneAlreadyFailed) {  // CPython's tests
  auto failed = make_future(FState::Failed);
  cf::Future<int> sleeper;
  const auto took = cftest::elapsed([&] {
    auto result = cf::wait(Futures{failed, sleeper}, cf::FIRST_EXCEPTION);
    expect_split(result, {failed}, {sleeper});
  });
  EXPECT_LT(took, 5s);
}

TEST(WaitReturnWhen, FirstExceptionIgnoresCancellationAndWaitsForAllWithoutError) {  // CPython
  // No exception at all: FIRST_EXCEPTION behaves as ALL_COMPLETED, and a cancelled future
  // does not count as an exception.
  cf::Future<int> a;
  cf::Future<int> b;
  cf::Future<int> c;
  std::barrier start(2);
  std::thread completer([&] {
    start.arrive_and_wait();
    a.cancel();
    b.set_result(1);
    c.set_result(2);
  });
  start.arrive_and_wait();
  auto result = cf::wait(Futures{a, b, c}, cf::FIRST_EXCEPTION);
  completer.join();
  expect_split(result, {a, b, c}, {});
}

TEST(WaitReturnWhen, AllCompleted) {  // CPython's test_all_completed
  cf::ThreadPoolExecutor pool(2);
  auto success = make_future(FState::Finished);
  auto failed = make_future(FState::Failed);
  auto cancelled = make_future(FState::Cancelled);
  auto cn = make_future(FState::CancelledNotified);
  auto task1 = pool.submit([] { return 1; });
  auto task2 = pool.submit([]() -> int { throw std::runtime_error("x"); });
  auto result = cf::wait(Futures{success, failed, cancelled, cn, task1, task2}, cf::ALL_COMPLETED);
  expect_split(result, {success, failed, cancelled, cn, task1, task2}, {});
  // ALL_COMPLETED is the default.
  auto by_default = cf::wait(Futures{task2, success});
  expect_split(by_default, {task2, success}, {});
}

TEST(WaitReturnWhen, AllCompletedWaitsForTheLastOne) {
  cf::Future<int> first;
  cf::Future<int> last;
  first.set_result(1);
  std::barrier start(2);
  std::thread completer([&] {
    start.arrive_and_wait();
    last.set_exception(std::make_exception_ptr(cftest::OSError()));
  });
  start.arrive_and_wait();
  auto result = cf::wait(Futures{first, last});
  completer.join();
  expect_split(result, {first, last}, {});
  EXPECT_TRUE(last.done());
}

TEST(WaitReturnWhen, EmptyInputReturnsAtOnce) {  // CPython's tests (new): wait({}) -> empty sets
  for (auto when : {cf::FIRST_COMPLETED, cf::FIRST_EXCEPTION, cf::ALL_COMPLETED}) {
    auto result = cf::wait(Futures{}, when);
    EXPECT_TRUE(result.done.empty());
    EXPECT_TRUE(result.not_done.empty());
    auto timed = cf::wait(Futures{}, 1h, when);
    EXPECT_TRUE(timed.done.empty());
    EXPECT_TRUE(timed.not_done.empty());
  }
}

}  // namespace
