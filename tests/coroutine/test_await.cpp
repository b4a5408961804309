// co_await on cf::Future<T> and cf::AnyFuture, and cf::Future<T> as a coroutine's return
// type (API.md "Coroutines"): where the coroutine resumes, what the co_await gives, how a
// coroutine's future completes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cfutures/coroutine.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;

struct Oops : std::runtime_error {
  Oops() : std::runtime_error("oops") {}
};

cf::Future<int> add_one(cf::Future<int> f, std::thread::id* resumed_in = nullptr) {
  int x = co_await f;
  if (resumed_in != nullptr) *resumed_in = std::this_thread::get_id();
  co_return x + 1;
}

TEST(Await, ResumesInTheThreadThatCompletesTheFuture) {
  cf::Future<int> f;
  std::thread::id resumed_in;
  cf::Future<int> g = add_one(f, &resumed_in);
  EXPECT_FALSE(g.done()) << "suspended on f";
  std::thread completer([f] { f.set_result(41); });
  const auto completer_id = completer.get_id();
  completer.join();
  ASSERT_TRUE(g.done()) << "the coroutine ran to its end inside set_result";
  EXPECT_EQ(g.result(), 42);
  EXPECT_EQ(resumed_in, completer_id);
}

TEST(Await, ADoneFutureDoesNotSuspend) {
  cf::Future<int> f;
  f.set_result(1);
  std::thread::id resumed_in;
  cf::Future<int> g = add_one(f, &resumed_in);
  ASSERT_TRUE(g.done()) << "the coroutine never suspended: it is done when the call returns";
  EXPECT_EQ(resumed_in, std::this_thread::get_id());
  EXPECT_EQ(g.result(), 2);
}

// What `co_await x` gives is what operator co_await(x).await_resume() returns.
template <class X>
using awaited_t = decltype(operator co_await(std::declval<X>()).await_resume());
static_assert(std::is_same_v<awaited_t<cf::Future<std::string>&>, const std::string&>,
              "an lvalue gives what result() gives");
static_assert(std::is_same_v<awaited_t<cf::Future<std::string>>, std::string>, "an rvalue gives a copy");
static_assert(std::is_same_v<awaited_t<cf::Future<void>>, void>);
static_assert(std::is_same_v<awaited_t<cf::AnyFuture&>, void>);

cf::Future<std::string> types_of_results(cf::Future<std::string> f) {
  const std::string& by_reference = co_await f;
  std::string copy = co_await cf::Future<std::string>(f);
  co_return by_reference + "/" + copy;
}

TEST(Await, GivesAReferenceForAnLvalueAndACopyForAnRvalue) {
  cf::Future<std::string> f;
  auto g = types_of_results(f);
  f.set_result("v");
  EXPECT_EQ(g.result(), "v/v");
}

cf::Future<std::size_t> keeps_a_temporary_value(cf::ThreadPoolExecutor& pool) {
  // The value outlives the expression although the future it came from was a temporary.
  std::string page = co_await pool.submit([] { return std::string(1000, 'x'); });
  co_return page.size();
}

TEST(Await, TheValueOfATemporaryFutureIsSafeToKeep) {
  cf::ThreadPoolExecutor pool(1);
  EXPECT_EQ(keeps_a_temporary_value(pool).result(), 1000u);
}

cf::Future<std::string> describe_outcome(cf::Future<int> f) {
  try {
    co_await f;
    co_return "value";
  } catch (const cf::CancelledError&) {
    co_return "cancelled";
  } catch (const Oops&) {
    co_return "oops";
  }
}

TEST(Await, RethrowsTheExceptionOrCancelledError) {
  cf::Future<int> failed;
  cf::Future<int> cancelled;
  auto a = describe_outcome(failed);
  auto b = describe_outcome(cancelled);
  failed.set_exception(std::make_exception_ptr(Oops()));
  cancelled.cancel();
  EXPECT_EQ(a.result(), "oops");
  EXPECT_EQ(b.result(), "cancelled");
  EXPECT_EQ(describe_outcome(cftest::make_future(cftest::FState::Finished)).result(), "value");
}

cf::Future<void> await_any(cf::AnyFuture f) { co_await f; }

TEST(Await, AnAnyFutureRethrows) {
  cf::Future<std::string> ok;
  cf::Future<int> bad;
  auto a = await_any(ok);
  auto b = await_any(bad);
  ok.set_result("fine");
  bad.set_exception(std::make_exception_ptr(Oops()));
  EXPECT_NO_THROW(a.result());
  EXPECT_THROW(b.result(), Oops);
}

cf::Future<int> starts_at_once(std::thread::id* started_in, int* steps) {
  *started_in = std::this_thread::get_id();
  ++*steps;
  co_return 7;
}

TEST(CoroutineFuture, StartsAtOnceInTheCallersThread) {
  std::thread::id started_in;
  int steps = 0;
  auto f = starts_at_once(&started_in, &steps);
  EXPECT_EQ(steps, 1) << "the body ran before the call returned";
  EXPECT_EQ(started_in, std::this_thread::get_id());
  ASSERT_TRUE(f.done());
  EXPECT_EQ(f.result(), 7);
}

cf::Future<int> throws_after(cf::Future<void> gate) {
  co_await gate;
  throw Oops();
}

TEST(CoroutineFuture, AnEscapingExceptionFailsItsFuture) {
  cf::Future<void> gate;
  auto f = throws_after(gate);
  gate.set_result();
  EXPECT_THROW(f.result(), Oops);
}

cf::Future<void> void_coroutine(cf::Future<int> f, int* seen) {
  *seen = co_await f;
  co_return;
}

TEST(CoroutineFuture, VoidCoroutines) {
  cf::Future<int> f;
  int seen = 0;
  cf::Future<void> g = void_coroutine(f, &seen);
  EXPECT_FALSE(g.done());
  f.set_result(3);
  g.result();
  EXPECT_EQ(seen, 3);
}

TEST(CoroutineFuture, IsRunningWhileSuspendedAndCannotBeCancelled) {
  cf::Future<int> f;
  auto g = add_one(f);
  EXPECT_TRUE(g.running());
  EXPECT_FALSE(g.cancel());
  f.set_result(0);
  EXPECT_EQ(g.result(), 1);
}

cf::Future<std::unique_ptr<int>> make_owned(cf::Future<int> f) {
  const int& x = co_await f;
  co_return std::make_unique<int>(x);
}

TEST(CoroutineFuture, AMoveOnlyResult) {
  cf::Future<int> f;
  auto g = make_owned(f);
  f.set_result(5);
  EXPECT_EQ(*g.result(), 5);
}

cf::Future<std::vector<int>> braced_return() { co_return {1, 2, 3}; }

TEST(CoroutineFuture, CoReturnOfABracedList) { EXPECT_EQ(braced_return().result(), (std::vector<int>{1, 2, 3})); }

cf::Future<int> holds(std::shared_ptr<int> token, cf::Future<int> f) { co_return *token + co_await f; }

TEST(CoroutineFuture, TheFrameIsGoneBeforeItsFutureIsDone) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  cf::Future<int> f;
  auto g = holds(std::move(token), f);
  bool expired_at_completion = false;
  g.add_done_callback([&](const cf::Future<int>&) { expired_at_completion = watch.expired(); });
  f.set_result(1);
  EXPECT_EQ(g.result(), 2);
  EXPECT_TRUE(expired_at_completion) << "the coroutine's parameters and locals died before its future completed";
}

cf::Future<int> plus_one(cf::Future<int> f) { co_return 1 + co_await f; }

TEST(CoroutineFuture, ADeepChainOfCoroutinesCompletesWithoutDeepRecursion) {
  constexpr int kDepth = 100'000;
  cf::Future<int> bottom;
  cf::Future<int> top = bottom;
  for (int i = 0; i < kDepth; ++i) top = plus_one(top);  // each awaits the one before
  EXPECT_FALSE(top.done());
  bottom.set_result(0);
  ASSERT_TRUE(top.done());
  EXPECT_EQ(top.result(), kDepth);
}

cf::Future<long> sum_of_tasks(cf::ThreadPoolExecutor& pool, int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) sum += co_await pool.submit([i] { return i; });
  co_return sum;
}

TEST(CoroutineFuture, AwaitingTasksOfAOneThreadPoolFromInsideItHoldsNoThread) {
  cf::ThreadPoolExecutor pool(1);
  // After the first task the coroutine runs in the pool's only thread; a co_await that held it
  // would deadlock on the next task.
  EXPECT_EQ(sum_of_tasks(pool, 1000).result(std::chrono::seconds(30)), 999L * 1000 / 2);
}

}  // namespace
