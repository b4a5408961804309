// Future::result() and exception(): waiting across threads, timeouts of any duration type,
// Future<void>, move-only results, and result identity (API.md "cf::Future<T>" result/exception;
// CPython's test_result_with_success, test_result_with_cancel,
// test_exception_with_success, result identity; CPython: steady-clock deadlines).
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

TEST(FutureResult, ResultWithSuccessFromAnotherThread) {  // CPython's test_result_with_success
  cf::Future<int> f;
  std::thread setter([f] { f.set_result(42); });
  EXPECT_EQ(f.result(5s), 42);
  setter.join();
}

TEST(FutureResult, ResultWithCancelFromAnotherThread) {  // CPython's test_result_with_cancel
  cf::Future<int> f;
  std::thread canceller([f] { EXPECT_TRUE(f.cancel()); });
  EXPECT_THROW(f.result(5s), cf::CancelledError);
  canceller.join();
}

TEST(FutureResult, ExceptionWithSuccessFromAnotherThread) {  // CPython's test_exception_with_success
  cf::Future<int> f;
  std::thread setter([f] { f.set_exception(std::make_exception_ptr(cftest::OSError())); });
  auto error = f.exception(5s);
  setter.join();
  ASSERT_NE(error, nullptr);
  EXPECT_THROW(std::rethrow_exception(error), cftest::OSError);
}

TEST(FutureResult, AllBlockedWaitersWakeOnCompletion) {  // waiters wake with notify_all
  cf::Future<std::string> f;
  cftest::Counter woke;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 8; ++i) {
    waiters.emplace_back([f, &woke] {
      EXPECT_EQ(f.result(), "ready");
      woke.add();
    });
  }
  f.set_result("ready");
  for (auto& t : waiters) t.join();
  EXPECT_EQ(woke.value(), 8);
}

TEST(FutureResult, SameExceptionObjectEachTime) {  // CPython's tests result identity
  cf::Future<int> f;
  auto error = std::make_exception_ptr(std::runtime_error("boom"));
  f.set_exception(error);
  EXPECT_EQ(f.exception(), error) << "exception() returns the very exception_ptr passed in";
  EXPECT_EQ(f.exception(), f.exception());
  const std::runtime_error* first = nullptr;
  for (int i = 0; i < 3; ++i) {
    try {
      (void)f.result();
      FAIL() << "result() did not rethrow";
    } catch (const std::runtime_error& e) {
      if (first == nullptr) first = &e;
      EXPECT_EQ(&e, first) << "result() rethrows the same object, not a copy";
      EXPECT_STREQ(e.what(), "boom");
    }
  }
  // Through an AnyFuture too.
  cf::AnyFuture any = f;
  EXPECT_EQ(any.exception(), error);
}

TEST(FutureResult, VoidFuture) {  // API.md: Future<void>::result returns void; set_result() takes nothing
  cf::Future<void> f;
  EXPECT_THROW(f.result(0s), cf::TimeoutError);
  f.set_result();
  static_assert(std::is_void_v<decltype(f.result())>);
  EXPECT_NO_THROW(f.result());
  EXPECT_NO_THROW(f.result(0s));
  EXPECT_EQ(f.exception(), nullptr);
  EXPECT_THROW(f.set_result(), cf::InvalidStateError);
  EXPECT_THROW(f.set_exception(std::make_exception_ptr(cftest::OSError())), cf::InvalidStateError);

  cf::Future<void> failed;
  failed.set_exception(std::make_exception_ptr(cftest::OSError()));
  EXPECT_THROW(failed.result(), cftest::OSError);

  cf::Future<void> cancelled;
  EXPECT_TRUE(cancelled.cancel());
  EXPECT_THROW(cancelled.result(), cf::CancelledError);
}

TEST(FutureResult, MoveOnlyResult) {  // API.md: T may be move-only
  cf::Future<std::unique_ptr<int>> f;
  auto copy = f;
  f.set_result(std::make_unique<int>(7));
  const std::unique_ptr<int>& a = f.result();
  const std::unique_ptr<int>& b = copy.result(1s);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*a, 7);
  EXPECT_EQ(&a, &b) << "every handle sees the same stored object";
}

TEST(FutureResult,
     ResultReferenceStaysValidWhileAnyHandleLives) {  // API.md result(): reference valid while any handle lives
  cf::Future<std::string> keep;
  const std::string* value = nullptr;
  {
    cf::Future<std::string> f = keep;
    f.set_result(std::string(100, 'x'));
    value = &f.result();
  }  // f is gone, keep still refers to the state
  EXPECT_EQ(*value, std::string(100, 'x'));
  EXPECT_EQ(value, &keep.result());
}

// A future that is still pending after `wait` must make result(timeout) wait; a deadline that
// overflowed to the past would throw at once instead.
template <class Duration>
void expect_waits_at_least(Duration timeout, std::chrono::milliseconds at_least) {
  cf::Future<int> f;
  const auto took = cftest::elapsed([&] { EXPECT_THROW(f.result(timeout), cf::TimeoutError); });
  EXPECT_GE(took, at_least);
  EXPECT_LT(took, 5s);
  const auto took_exception = cftest::elapsed([&] { EXPECT_THROW((void)f.exception(timeout), cf::TimeoutError); });
  EXPECT_GE(took_exception, at_least);
  EXPECT_LT(took_exception, 5s);
}

TEST(FutureResult, TimeoutsOfAnyDurationType) {  // API.md: timeout is any std::chrono::duration
  expect_waits_at_least(50ms, 50ms);
  expect_waits_at_least(std::chrono::duration<double>(0.05), 50ms);
  expect_waits_at_least(std::chrono::duration<double, std::milli>(50.0), 50ms);
  expect_waits_at_least(std::chrono::microseconds(50'000), 50ms);
  expect_waits_at_least(std::chrono::nanoseconds(50'000'000), 50ms);
}

TEST(FutureResult, ZeroAndNegativeTimeoutsOnlyCheck) {  // CPython: timeout <= 0 -> TimeoutError if not done
  cf::Future<int> f;
  for (auto timeout : {0ns, -1ns, std::chrono::nanoseconds(-1s), std::chrono::nanoseconds::min()}) {
    const auto took = cftest::elapsed([&] { EXPECT_THROW(f.result(timeout), cf::TimeoutError); });
    EXPECT_LT(took, 1s);
  }
  EXPECT_THROW(f.result(std::chrono::hours::min()), cf::TimeoutError);
  EXPECT_THROW(f.exception(-1s), cf::TimeoutError);
  f.set_result(3);
  EXPECT_EQ(f.result(0s), 3) << "a done future answers even with a zero timeout";
  EXPECT_EQ(f.result(-1h), 3);
  EXPECT_EQ(f.result(std::chrono::hours::min()), 3);
}

TEST(FutureResult, HugeTimeoutsDoNotOverflow) {  // saturate, never wrap into the past
  cf::Future<int> pending;
  cf::Future<int> outcome;
  std::thread waiter([&] {
    try {
      outcome.set_result(pending.result(std::chrono::hours::max()));
    } catch (...) {
      outcome.set_exception(std::current_exception());
    }
  });
  // Give a wrapped-around deadline 100 ms to show itself as an early TimeoutError.
  EXPECT_THROW(outcome.result(100ms), cf::TimeoutError) << "result(hours::max()) returned early";
  pending.set_result(9);
  waiter.join();
  EXPECT_EQ(outcome.result(), 9);

  cf::Future<int> done;
  done.set_result(1);
  EXPECT_EQ(done.result(std::chrono::hours::max()), 1);
  EXPECT_EQ(done.result(std::chrono::nanoseconds::max()), 1);
  EXPECT_EQ(done.result(std::chrono::duration<double>(1e300)), 1);
  EXPECT_EQ(done.exception(std::chrono::years::max()), nullptr);
}

TEST(FutureResult, ExceptionTimeoutWorksThroughAnyFuture) {  // API.md AnyFuture::exception(timeout)
  cf::Future<int> f;
  cf::AnyFuture any = f;
  const auto took = cftest::elapsed([&] { EXPECT_THROW((void)any.exception(30ms), cf::TimeoutError); });
  EXPECT_GE(took, 30ms);
  f.set_exception(std::make_exception_ptr(cftest::OSError()));
  EXPECT_THROW(std::rethrow_exception(any.exception(0s)), cftest::OSError);
  cf::Future<int> cancelled;
  cancelled.cancel();
  EXPECT_THROW((void)cf::AnyFuture(cancelled).exception(), cf::CancelledError);
}

}  // namespace
