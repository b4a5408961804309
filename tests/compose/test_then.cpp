// Future<T>::then(fn) and AnyFuture::then(fn) without an executor (API.md "Composition"):
// where fn runs, the value and future forms, propagation of failure and cancellation, the
// returned Future<U> followed, cancelling the result, and what fn's captures live for.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "compose_fixtures.hpp"
#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using testing::HasSubstr;

struct Oops : std::runtime_error {
  Oops() : std::runtime_error("oops") {}
};

std::exception_ptr oops() { return std::make_exception_ptr(Oops()); }

TEST(Then, RunsInTheThreadThatCompletesTheSource) {
  cf::Future<int> f;
  std::thread::id ran_in;
  cf::Future<int> g = f.then([&](const int& x) {
    ran_in = std::this_thread::get_id();
    return x + 1;
  });
  EXPECT_FALSE(g.done()) << "fn must wait for the source";
  std::thread completer([f] { f.set_result(41); });
  const std::thread::id completer_id = completer.get_id();
  completer.join();
  EXPECT_EQ(g.result(), 42);
  EXPECT_EQ(ran_in, completer_id);
}

TEST(Then, RunsAtOnceInTheCallerWhenTheSourceIsDone) {
  cf::Future<std::string> f;
  f.set_result("done");
  std::thread::id ran_in;
  auto g = f.then([&](const std::string& s) {
    ran_in = std::this_thread::get_id();
    return s.size();
  });
  static_assert(std::is_same_v<decltype(g), cf::Future<std::size_t>>);
  EXPECT_TRUE(g.done()) << "then on a done future completes before it returns";
  EXPECT_EQ(ran_in, std::this_thread::get_id());
  EXPECT_EQ(g.result(), 4u);
}

TEST(Then, OnADoneSourceEveryKindOfResult) {  // then() completes g before anyone else sees it
  cf::Future<int> f = cftest::make_future(cftest::FState::Finished);
  auto thrown = f.then([](int) -> int { throw Oops(); });
  auto owned = f.then([](int x) { return std::make_unique<int>(x); });
  cf::Future<int> inner;
  auto followed = f.then([&](int) { return inner; });
  auto nothing = f.then([](int) {});
  EXPECT_THROW(thrown.result(), Oops);
  EXPECT_EQ(*owned.result(), 42);
  EXPECT_FALSE(followed.done());
  inner.set_result(7);
  EXPECT_EQ(followed.result(), 7);
  EXPECT_TRUE(nothing.done());
  EXPECT_EQ(cftest::use_count(owned), 1u) << "no link is left holding the result";
}

TEST(Then, ValueFormOfAVoidFutureTakesNothing) {
  cf::Future<void> f;
  int calls = 0;
  cf::Future<void> g = f.then([&] { ++calls; });
  f.set_result();
  g.result();
  EXPECT_EQ(calls, 1);
}

TEST(Then, FutureFormGetsTheDoneFutureAndAlwaysRuns) {
  for (auto state : {cftest::FState::Finished, cftest::FState::Failed, cftest::FState::Cancelled}) {
    SCOPED_TRACE(cftest::name_of(state));
    cf::Future<int> f = cftest::make_future(state);
    cf::Future<int> seen_future;
    cf::Future<std::string> g = f.then([&](cf::Future<int> done) {
      EXPECT_TRUE(done.done());
      seen_future = done;
      return std::string(done.cancelled() ? "cancelled" : done.exception() ? "failed" : "finished");
    });
    EXPECT_EQ(seen_future, f) << "fn gets the source future itself";
    EXPECT_EQ(g.result(), state == cftest::FState::Finished ? "finished"
                          : state == cftest::FState::Failed ? "failed"
                                                            : "cancelled");
  }
}

TEST(Then, FutureFormOfAPendingFutureRunsOnceItFails) {
  cf::Future<int> f;
  auto g = f.then([](const cf::Future<int>& done) { return done.exception() != nullptr; });
  f.set_exception(oops());
  EXPECT_TRUE(g.result());
}

TEST(Then, ValueFormIsSkippedAndTheSameExceptionPassesOn) {
  cf::Future<int> f;
  int calls = 0;
  cf::Future<int> g = f.then([&](int x) {
    ++calls;
    return x;
  });
  f.set_exception(oops());
  EXPECT_THROW(g.result(), Oops);
  EXPECT_EQ(g.exception(), f.exception()) << "the same exception object, not a copy";
  EXPECT_EQ(calls, 0);
}

TEST(Then, ValueFormOfACancelledSourceFailsWithCancelledError) {
  cf::Future<int> f;
  int calls = 0;
  cf::Future<int> g = f.then([&](int x) {
    ++calls;
    return x;
  });
  ASSERT_TRUE(f.cancel());
  EXPECT_FALSE(g.cancelled()) << "g itself was not cancelled: it failed";
  EXPECT_TRUE(g.done());
  EXPECT_THROW(g.result(), cf::CancelledError);
  EXPECT_EQ(calls, 0);
}

TEST(Then, AnExceptionFromFnFailsTheResult) {
  cf::Future<int> f;
  auto g = f.then([](int) -> int { throw Oops(); });
  auto h = f.then([](int) -> int { throw 42; });  // not a std::exception
  f.set_result(1);
  EXPECT_THROW(g.result(), Oops);
  try {
    h.result();
    FAIL() << "expected the int";
  } catch (int thrown) {
    EXPECT_EQ(thrown, 42);
  }
}

TEST(Then, AReturnedFutureIsFollowedNotNested) {
  cf::Future<int> f;
  cf::Future<int> inner;
  auto g = f.then([&](int) { return inner; });
  static_assert(std::is_same_v<decltype(g), cf::Future<int>>, "no Future<Future<int>>");
  f.set_result(1);
  EXPECT_FALSE(g.done()) << "g waits for the future fn returned";
  EXPECT_TRUE(g.running()) << "fn has run: g can no longer be cancelled";
  EXPECT_FALSE(g.cancel());
  inner.set_result(7);
  EXPECT_EQ(g.result(), 7);
}

TEST(Then, AFollowedFailureOrCancellationPassesOn) {
  cf::Future<int> f;
  cf::Future<int> failing;
  cf::Future<void> cancelled;
  auto g = f.then([&](int) { return failing; });
  auto h = f.then([&](int) { return cancelled; });
  static_assert(std::is_same_v<decltype(h), cf::Future<void>>);
  f.set_result(1);
  failing.set_exception(oops());
  ASSERT_TRUE(cancelled.cancel());
  EXPECT_EQ(g.exception(), failing.exception());
  EXPECT_THROW(h.result(), cf::CancelledError);
}

TEST(Then, AFollowedFutureThatIsAlreadyDoneCompletesAtOnce) {
  cf::Future<std::string> done;
  done.set_result("ready");
  cf::Future<int> f;
  auto g = f.then([&](int) { return done; });
  f.set_result(0);
  EXPECT_TRUE(g.done());
  EXPECT_EQ(g.result(), "ready");
  EXPECT_EQ(done.result(), "ready") << "the followed future keeps its own value (copied, not moved)";
}

TEST(Then, AFollowedFutureThatNobodyCanCompleteFailsTheResult) {
  cf::Future<int> f;
  auto g = f.then([](int) { return cf::Future<int>(); });  // its only handle dies with fn's return
  f.set_result(1);
  ASSERT_TRUE(g.done());
  try {
    g.result();
    FAIL() << "expected CancelledError";
  } catch (const cf::CancelledError& e) {
    EXPECT_THAT(e.what(), HasSubstr("destroyed before it completed"));
  }
}

TEST(Then, FollowingAnEmptyHandleFailsTheResult) {
  cf::Future<int> f;
  auto g = f.then([](int) {
    cf::Future<int> gone;
    cf::Future<int> taker = std::move(gone);
    return gone;  // NOLINT(bugprone-use-after-move): the empty handle is the subject
  });
  f.set_result(1);
  EXPECT_THROW(g.result(), std::logic_error);
}

TEST(Then, FnReturningTheFutureItCompletesFailsInsteadOfHanging) {
  cf::Future<int> f;
  auto self = std::make_shared<cf::Future<int>>();
  cf::Future<int> g = f.then([self](int) { return *self; });
  *self = g;
  f.set_result(1);
  EXPECT_THROW(g.result(std::chrono::seconds(10)), std::logic_error);
  *self = cf::Future<int>();  // break the cycle fn -> g
}

TEST(Then, ASourceDestroyedPendingFailsTheResultAndFnNeverRuns) {
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  int calls = 0;
  cf::Future<int> g = [&] {
    cf::Future<int> f;  // nobody else holds it, so nobody can complete it
    return f.then([&calls, token = std::move(token)](int x) {
      ++calls;
      return x;
    });
  }();
  ASSERT_TRUE(g.done());
  EXPECT_THROW(g.result(), cf::CancelledError);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(watch.expired()) << "fn was destroyed";
}

TEST(Then, CancellingTheResultBeforeFnStartsMeansFnNeverRuns) {
  cf::Future<int> f;
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  int calls = 0;
  cf::Future<int> g = f.then([&calls, token = std::move(token)](int x) {
    ++calls;
    return x;
  });
  EXPECT_TRUE(g.cancel());
  EXPECT_TRUE(g.cancelled());
  EXPECT_FALSE(f.cancelled()) << "the source is not cancelled";
  f.set_result(3);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(watch.expired()) << "fn is destroyed once the source is done";
  EXPECT_EQ(f.result(), 3);
}

TEST(Then, CancellingTheResultWhileFnRunsReturnsFalse) {
  cf::Future<int> f;
  cftest::Gate entered;
  cftest::Gate release;
  cf::Future<int> g = f.then([&](int x) {
    entered.open();
    release.wait();
    return x * 2;
  });
  std::thread completer([f] { f.set_result(5); });
  entered.wait();
  EXPECT_TRUE(g.running());
  EXPECT_FALSE(g.cancel());
  release.open();
  completer.join();
  EXPECT_EQ(g.result(), 10);
}

TEST(Then, FnAndItsCapturesAreDestroyedBeforeTheResultIsDone) {
  cf::Future<int> f;
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  cf::Future<int> g = f.then([token = std::move(token)](int x) { return x + *token; });
  bool expired_at_completion = false;
  g.add_done_callback([&](const cf::Future<int>&) { expired_at_completion = watch.expired(); });
  f.set_result(1);
  EXPECT_TRUE(expired_at_completion);
}

TEST(Then, ResultTypesAreDecayedAndMayBeMoveOnly) {
  cf::Future<std::string> f;
  auto copy = f.then([](const std::string& s) -> const std::string& { return s; });
  static_assert(std::is_same_v<decltype(copy), cf::Future<std::string>>);
  auto owned = f.then([](const std::string& s) { return std::make_unique<std::string>(s + "!"); });
  f.set_result("value");
  EXPECT_EQ(copy.result(), "value");
  EXPECT_EQ(*owned.result(), "value!");
}

TEST(Then, AMoveOnlySourceValueIsReadByReference) {
  cf::Future<std::unique_ptr<int>> f;
  auto g = f.then([](const std::unique_ptr<int>& p) { return *p * 2; });
  f.set_result(std::make_unique<int>(21));
  EXPECT_EQ(g.result(), 42);
  EXPECT_EQ(*f.result(), 21);
}

TEST(Then, AMoveOnlyCallableWorks) {
  cf::Future<int> f;
  auto owned = std::make_unique<int>(10);
  auto g = f.then([owned = std::move(owned)](int x) { return x + *owned; });
  f.set_result(5);
  EXPECT_EQ(g.result(), 15);
}

TEST(Then, ChainsRunInOrder) {
  cf::Future<int> f;
  std::vector<int> order;
  auto g = f.then([&](int x) {
              order.push_back(1);
              return x + 1;
            })
               .then([&](int x) {
                 order.push_back(2);
                 return x * 10;
               })
               .then([&](int x) {
                 order.push_back(3);
                 return std::to_string(x);
               });
  f.set_result(1);
  EXPECT_EQ(g.result(), "20");
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Then, ContinuationsOfOneFutureRunInTheOrderAttachedAfterItsCallbacks) {
  cf::Future<int> f;
  std::vector<std::string> order;
  auto a = f.then([&](int) { order.push_back("then 1"); });
  f.add_done_callback([&](const cf::Future<int>&) { order.push_back("callback"); });
  auto b = f.then([&](const cf::Future<int>&) { order.push_back("then 2"); });
  f.set_result(0);
  EXPECT_EQ(order, (std::vector<std::string>{"callback", "then 1", "then 2"}));
}

TEST(Then, OnAnEmptyHandleThrowsLogicError) {
  cf::Future<int> f;
  cf::Future<int> taker = std::move(f);
  EXPECT_THROW(f.then([](int x) { return x; }), std::logic_error);  // NOLINT(bugprone-use-after-move)
}

TEST(Then, DoesNotKeepTheSourceAlive) {
  cf::Future<int> f;
  auto g = f.then([](int x) { return x; });
  EXPECT_EQ(cftest::use_count(f), 1u) << "a pending then holds no handle to its source";
  f.set_result(2);
  EXPECT_EQ(g.result(), 2);
}

TEST(AnyFutureThen, FutureFormGetsTheAnyFuture) {
  cf::Future<int> f;
  cf::AnyFuture any = f;
  auto g = any.then([](const cf::AnyFuture& done) { return done.exception() == nullptr; });
  static_assert(std::is_same_v<decltype(g), cf::Future<bool>>);
  f.set_result(3);
  EXPECT_TRUE(g.result());
}

TEST(AnyFutureThen, NullaryFormRunsOnlyOnSuccess) {
  cf::Future<int> ok;
  cf::Future<int> bad;
  cf::Future<int> cancelled;
  int calls = 0;
  auto on_ok = cf::AnyFuture(ok).then([&] { return ++calls; });
  auto on_bad = cf::AnyFuture(bad).then([&] { return ++calls; });
  auto on_cancelled = cf::AnyFuture(cancelled).then([&] { return ++calls; });
  ok.set_result(1);
  bad.set_exception(oops());
  cancelled.cancel();
  EXPECT_EQ(on_ok.result(), 1);
  EXPECT_THROW(on_bad.result(), Oops);
  EXPECT_THROW(on_cancelled.result(), cf::CancelledError);
  EXPECT_EQ(calls, 1);
}

}  // namespace
