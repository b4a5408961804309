// then(executor, fn) (API.md "Composition"): fn is submitted once the source is done and
// runs on the executor; failures pass on without a submit; a refused submit, a dropped task
// and a broken pool reach the result; cancelling the result before fn starts means fn never
// runs; a process pool gets fn and the value.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cfutures/process_pool.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

#include "compose_fixtures.hpp"
#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;

struct Oops : std::runtime_error {
  Oops() : std::runtime_error("oops") {}
};

TEST(ThenOnExecutor, SubmitsFnOnceTheSourceIsDone) {
  cftest::ManualExecutor executor;
  cf::Future<int> f;
  cf::Future<int> g = f.then(executor, [](int x) { return x * 3; });
  EXPECT_EQ(executor.scheduled(), 0) << "nothing is submitted before the source is done";
  f.set_result(5);
  EXPECT_EQ(executor.scheduled(), 1);
  EXPECT_FALSE(g.done()) << "fn runs on the executor, not in the completing thread";
  EXPECT_EQ(executor.run_all(), 1);
  EXPECT_EQ(g.result(), 15);
}

TEST(ThenOnExecutor, RunsInAPoolThread) {
  cf::ThreadPoolExecutor pool({.max_workers = 1, .thread_name_prefix = "thenpool"});
  cf::Future<int> f;
  auto g = f.then(pool, [](int x) { return std::to_string(x) + " in " + cftest::current_thread_name(); });
  f.set_result(7);
  EXPECT_EQ(g.result(), "7 in thenpool_0");
}

TEST(ThenOnExecutor, FutureFormRunsOnTheExecutorForEveryOutcome) {
  cftest::ManualExecutor executor;
  cf::Future<int> failed;
  auto g = failed.then(executor, [](const cf::Future<int>& done) { return done.exception() != nullptr; });
  failed.set_exception(std::make_exception_ptr(Oops()));
  EXPECT_EQ(executor.run_all(), 1);
  EXPECT_TRUE(g.result());
}

TEST(ThenOnExecutor, AFailedSourcePassesOnWithoutASubmit) {
  cftest::ManualExecutor executor;
  cf::Future<int> failed;
  cf::Future<int> cancelled;
  auto g = failed.then(executor, [](int x) { return x; });
  auto h = cancelled.then(executor, [](int x) { return x; });
  failed.set_exception(std::make_exception_ptr(Oops()));
  cancelled.cancel();
  EXPECT_EQ(executor.scheduled(), 0);
  EXPECT_THROW(g.result(), Oops);
  EXPECT_THROW(h.result(), cf::CancelledError);
}

TEST(ThenOnExecutor, ARefusedSubmitFailsTheResultWithItsException) {
  cftest::ManualExecutor executor;
  executor.refuse_next();
  cf::Future<int> f;
  auto g = f.then(executor, [](int x) { return x; });
  f.set_result(1);
  try {
    g.result();
    FAIL() << "expected the refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "refused");
  }
}

TEST(ThenOnExecutor, AShutDownPoolFailsTheResultWithExecutorShutdown) {
  cf::ThreadPoolExecutor pool(1);
  pool.shutdown();
  cf::Future<int> f;
  auto g = f.then(pool, [](int x) { return x; });
  f.set_result(1);
  EXPECT_THROW(g.result(), cf::ExecutorShutdown);
}

TEST(ThenOnExecutor, ABrokenPoolFailsTheResultWithBrokenThreadPool) {
  cf::ThreadPoolExecutor pool({.max_workers = 1, .initializer = [] { throw Oops(); }});
  cf::Future<int> f;
  int calls = 0;
  auto g = f.then(pool, [&](int x) { return calls += x; });
  f.set_result(1);
  EXPECT_THROW(g.result(std::chrono::seconds(30)), cf::BrokenThreadPool);
  EXPECT_EQ(calls, 0);
}

TEST(ThenOnExecutor, ATaskDroppedUnrunCancelsTheResult) {
  cftest::ManualExecutor executor;
  cf::Future<int> f;
  int calls = 0;
  auto g = f.then(executor, [&](int x) { return calls += x; });
  f.set_result(1);
  EXPECT_EQ(executor.drop_all(), 1);
  EXPECT_TRUE(g.cancelled());
  EXPECT_EQ(calls, 0);
}

TEST(ThenOnExecutor, ShutdownWithCancelFuturesCancelsAQueuedContinuation) {
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto blockers = cftest::occupy_workers(pool, gate);
  cf::Future<int> f;
  int calls = 0;
  auto g = f.then(pool, [&](int x) { return calls += x; });
  f.set_result(1);  // queued behind the blocker
  pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  gate.open();
  pool.shutdown();
  EXPECT_TRUE(g.cancelled());
  EXPECT_EQ(calls, 0);
}

TEST(ThenOnExecutor, CancellingTheResultBeforeFnStartsMeansFnNeverRuns) {
  cftest::ManualExecutor executor;
  cf::Future<int> f;
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  int calls = 0;
  auto g = f.then(executor, [&calls, token = std::move(token)](int x) { return calls += x; });
  f.set_result(1);
  ASSERT_EQ(executor.queued(), 1u);
  EXPECT_TRUE(g.cancel());
  executor.run_all();
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(g.cancelled());
  EXPECT_FALSE(f.cancelled());
  EXPECT_TRUE(watch.expired()) << "fn is destroyed once the task is done";
}

TEST(ThenOnExecutor, AnExceptionFromFnFailsTheResult) {
  cftest::InlineExecutor executor;
  cf::Future<int> f;
  auto g = f.then(executor, [](int) -> int { throw Oops(); });
  f.set_result(1);
  EXPECT_THROW(g.result(), Oops);
}

TEST(ThenOnExecutor, AReturnedFutureIsFollowed) {
  cf::ThreadPoolExecutor pool(2);
  cf::Future<int> f;
  auto g = f.then(pool, [&pool](int x) { return pool.submit([x] { return x + 1; }); });
  static_assert(std::is_same_v<decltype(g), cf::Future<int>>);
  f.set_result(41);
  EXPECT_EQ(g.result(), 42);
}

TEST(ThenOnExecutor, AnInlineExecutorRunsFnInsideTheCompletion) {
  cftest::InlineExecutor executor;
  cf::Future<std::string> f;
  auto g = f.then(executor, [](const std::string& s) { return s + "!"; });
  auto h = f.then(executor, [](const std::string&) {});
  static_assert(std::is_same_v<decltype(h), cf::Future<void>>);
  f.set_result("hi");
  EXPECT_TRUE(g.done());
  EXPECT_EQ(g.result(), "hi!");
  h.result();
}

TEST(ThenOnExecutor, FnIsDestroyedBeforeTheResultIsDone) {
  cf::ThreadPoolExecutor pool(1);
  cf::Future<int> f;
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  auto g = f.then(pool, [token = std::move(token)](int x) { return x + *token; });
  std::atomic<bool> expired_at_completion{false};
  cftest::Counter callback_ran;
  g.add_done_callback([&](const cf::Future<int>&) {
    expired_at_completion = watch.expired();
    callback_ran.add();
  });
  f.set_result(1);
  EXPECT_EQ(g.result(), 2);
  callback_ran.wait_for(1);  // result() may return before the callbacks have run
  EXPECT_TRUE(expired_at_completion);
}

TEST(ThenOnExecutor, AnyFutureToo) {
  cftest::InlineExecutor executor;
  cf::Future<int> f;
  auto g = cf::AnyFuture(f).then(executor, [] { return 1; });
  auto h = cf::AnyFuture(f).then(executor, [](const cf::AnyFuture& done) { return done.done(); });
  f.set_result(0);
  EXPECT_EQ(g.result(), 1);
  EXPECT_TRUE(h.result());
}

int remote_pid_plus(int x) { return static_cast<int>(getpid()) + x; }

TEST(ThenOnExecutor, AProcessPoolGetsFnAndTheValue) {
  cf::ProcessPoolExecutor pool(1);
  cf::Future<int> f;
  auto g = f.then(pool, remote_pid_plus);
  static_assert(std::is_same_v<decltype(g), cf::Future<int>>);
  f.set_result(0);
  const int pid = g.result(std::chrono::seconds(60));
  EXPECT_NE(pid, static_cast<int>(getpid())) << "fn ran in a worker process";
}

}  // namespace
