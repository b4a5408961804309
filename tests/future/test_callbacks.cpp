// Done-callbacks: when and where they run, their order, and what happens when they throw
// (API.md "cf::Future<T>" add_done_callback and decision 3; CPython's test_done_callback_*,
// order, callback added from a callback, non-std throw).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using testing::HasSubstr;
using testing::MatchesRegex;
using testing::internal::CaptureStderr;
using testing::internal::GetCapturedStderr;

TEST(DoneCallback, WithResult) {  // CPython's test_done_callback_with_result
  cf::Future<int> f;
  int seen = 0;
  f.add_done_callback([&](cf::Future<int> g) { seen = g.result(); });
  EXPECT_EQ(seen, 0) << "not called before the future is done";
  f.set_result(5);
  EXPECT_EQ(seen, 5);
}

TEST(DoneCallback, WithException) {  // CPython's test_done_callback_with_exception
  cf::Future<int> f;
  std::string seen;
  f.add_done_callback([&](cf::Future<int> g) { seen = cftest::what_of(g.exception()); });
  f.set_exception(std::make_exception_ptr(std::runtime_error("test")));
  EXPECT_EQ(seen, "test");
}

TEST(DoneCallback, WithCancel) {  // CPython's test_done_callback_with_cancel
  cf::Future<int> f;
  bool was_cancelled = false;
  f.add_done_callback([&](cf::Future<int> g) { was_cancelled = g.cancelled(); });
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(was_cancelled);
}

TEST(DoneCallback, RaisesAndLaterCallbacksStillRun) {  // CPython's test_done_callback_raises; decision 3
  cf::Future<int> f;
  bool raising_called = false;
  bool later_called = false;
  f.add_done_callback([&](const cf::Future<int>&) {
    raising_called = true;
    throw std::runtime_error("doh!");
  });
  f.add_done_callback([&](const cf::Future<int>&) { later_called = true; });
  CaptureStderr();
  f.set_result(5);
  const std::string err = GetCapturedStderr();
  EXPECT_TRUE(raising_called);
  EXPECT_TRUE(later_called);
  EXPECT_THAT(err, MatchesRegex("exception calling callback for <Future at 0x[0-9a-f]+ state=finished returned "
                                "int>: std::runtime_error: doh!\n"));
  EXPECT_EQ(f.result(), 5) << "a throwing callback does not change the future";
}

TEST(DoneCallback, NonStandardThrowIsReportedAndLaterCallbacksStillRun) {  // CPython's tests; decision 3
  struct NotAnException {};
  cf::Future<int> f;
  int later_calls = 0;
  f.add_done_callback([](const cf::Future<int>&) { throw 42; });
  f.add_done_callback([](const cf::Future<int>&) { throw NotAnException{}; });
  f.add_done_callback([&](const cf::Future<int>&) { ++later_calls; });
  CaptureStderr();
  f.set_result(5);
  const std::string err = GetCapturedStderr();
  EXPECT_EQ(later_calls, 1);
  EXPECT_THAT(err, MatchesRegex("exception calling callback for <Future at 0x[0-9a-f]+ state=finished returned "
                                "int>: [^\n]*int\n"
                                "exception calling callback for <Future at 0x[0-9a-f]+ state=finished returned "
                                "int>: [^\n]*NotAnException\n"));
}

TEST(DoneCallback, AlreadySuccessfulRunsAtOnce) {  // CPython's test_done_callback_already_successful
  cf::Future<int> f;
  f.set_result(5);
  int seen = 0;
  f.add_done_callback([&](cf::Future<int> g) { seen = g.result(); });
  EXPECT_EQ(seen, 5);
}

TEST(DoneCallback, AlreadyFailedRunsAtOnce) {  // CPython's test_done_callback_already_failed
  cf::Future<int> f;
  f.set_exception(std::make_exception_ptr(std::runtime_error("test")));
  std::string seen;
  f.add_done_callback([&](cf::Future<int> g) { seen = cftest::what_of(g.exception()); });
  EXPECT_EQ(seen, "test");
}

TEST(DoneCallback, AlreadyCancelledRunsAtOnce) {  // CPython's test_done_callback_already_cancelled
  cf::Future<int> f;
  EXPECT_TRUE(f.cancel());
  bool was_cancelled = false;
  f.add_done_callback([&](cf::Future<int> g) { was_cancelled = g.cancelled(); });
  EXPECT_TRUE(was_cancelled);
}

TEST(DoneCallback, RaisesWhenAddedToFinishedFuture) {  // CPython's test_done_callback_raises_already_succeeded
  cf::Future<int> f;
  f.set_result(5);
  CaptureStderr();
  EXPECT_NO_THROW(f.add_done_callback([](const cf::Future<int>&) { throw std::runtime_error("doh!"); }));
  const std::string err = GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("exception calling callback for " + f.describe()));
  EXPECT_THAT(err, HasSubstr("doh!"));
}

TEST(DoneCallback, RunInTheOrderAdded) {  // CPython
  cf::Future<int> f;
  std::vector<int> order;
  for (int i = 0; i < 10; ++i) f.add_done_callback([&order, i](const cf::Future<int>&) { order.push_back(i); });
  f.set_result(0);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(DoneCallback, AddedFromInsideACallbackRunsImmediately) {  // CPython
  cf::Future<int> f;
  std::vector<std::string> order;
  f.add_done_callback([&](cf::Future<int> g) {
    order.push_back("first");
    g.add_done_callback([&](const cf::Future<int>&) { order.push_back("nested"); });
    order.push_back("first-end");
  });
  f.add_done_callback([&](const cf::Future<int>&) { order.push_back("second"); });
  f.set_result(1);
  EXPECT_EQ(order, (std::vector<std::string>{"first", "nested", "first-end", "second"}));
}

TEST(DoneCallback, RunInTheCompletingThreadOrAtOnceInTheCaller) {  // API.md add_done_callback; CPython: thread rule
  cf::Future<int> f;
  std::thread::id ran_in;
  f.add_done_callback([&](const cf::Future<int>&) { ran_in = std::this_thread::get_id(); });
  std::thread completer([f] { f.set_result(1); });
  const auto completer_id = completer.get_id();
  completer.join();
  EXPECT_EQ(ran_in, completer_id);

  std::thread::id late_ran_in;
  f.add_done_callback([&](const cf::Future<int>&) { late_ran_in = std::this_thread::get_id(); });
  EXPECT_EQ(late_ran_in, std::this_thread::get_id());
}

TEST(DoneCallback, CancelRunsCallbacksInTheCancellingThread) {  // CPython: cancel(): callbacks in the caller
  cf::Future<int> f;
  std::thread::id ran_in;
  f.add_done_callback([&](const cf::Future<int>&) { ran_in = std::this_thread::get_id(); });
  std::thread canceller([f] { EXPECT_TRUE(f.cancel()); });
  const auto canceller_id = canceller.get_id();
  canceller.join();
  EXPECT_EQ(ran_in, canceller_id);
}

TEST(DoneCallback, MoveOnlyCallableAndAnyFutureCallback) {  // API.md add_done_callback(fn) for any callable
  cf::Future<int> f;
  auto payload = std::make_unique<int>(3);
  int seen = 0;
  f.add_done_callback([p = std::move(payload), &seen](cf::Future<int> g) { seen = *p + g.result(); });
  cf::AnyFuture any = f;
  bool any_called = false;
  any.add_done_callback([&](cf::AnyFuture g) {
    any_called = true;
    EXPECT_EQ(g, any);
    EXPECT_TRUE(g.done());
    EXPECT_EQ(g.exception(), nullptr);
  });
  f.set_result(4);
  EXPECT_EQ(seen, 7);
  EXPECT_TRUE(any_called);
}

TEST(DoneCallback, CallableIsDestroyedAfterItRuns) {  // no stale references held by the future
  cf::Future<int> f;
  auto token = std::make_shared<int>(0);
  f.add_done_callback([token](const cf::Future<int>&) {});
  EXPECT_EQ(token.use_count(), 2);
  f.set_result(1);
  EXPECT_EQ(token.use_count(), 1) << "the future still holds a callback that already ran";
}

TEST(DoneCallback, CallbackMayHoldTheOnlyHandle) {  // the state outlives its callbacks' run
  bool called = false;
  {
    cf::Future<int> f;
    cf::Future<int> setter = f;
    f.add_done_callback([&called, keep = f](cf::Future<int> g) {
      called = true;
      EXPECT_EQ(g, keep);
    });
    f = cf::Future<int>();  // drop this handle; the callback's copy and `setter` remain
    setter.set_result(1);
  }
  EXPECT_TRUE(called);
}

}  // namespace
