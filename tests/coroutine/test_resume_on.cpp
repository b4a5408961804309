// co_await cf::resume_on(executor) (API.md "Coroutines"): the rest of the coroutine is one
// task on the executor; a refused submit throws in the coroutine; a task the executor drops
// resumes it with CancelledError; an executor that runs or drops the task inside submit().
#include <gtest/gtest.h>

#include <cfutures/coroutine.hpp>
#include <stdexcept>
#include <string>
#include <thread>

#include "compose_fixtures.hpp"
#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;

template <class E>
cf::Future<std::string> hop(E& executor, int* steps = nullptr) {
  try {
    co_await cf::resume_on(executor);
  } catch (const cf::CancelledError& e) {
    co_return std::string("cancelled: ") + e.what();
  } catch (const std::exception& e) {
    co_return std::string("refused: ") + e.what();
  }
  if (steps != nullptr) ++*steps;
  co_return cftest::current_thread_name();
}

TEST(ResumeOn, MovesTheRestOfTheCoroutineOntoTheExecutor) {
  cf::ThreadPoolExecutor pool({.max_workers = 1, .thread_name_prefix = "hop"});
  EXPECT_EQ(hop(pool).result(), "hop_0");
}

TEST(ResumeOn, SubmitsTheRestAsOneTask) {
  cftest::ManualExecutor executor;
  int steps = 0;
  auto f = hop(executor, &steps);
  EXPECT_EQ(executor.scheduled(), 1);
  EXPECT_EQ(steps, 0) << "nothing after the co_await runs before the task";
  EXPECT_FALSE(f.done());
  EXPECT_EQ(executor.run_all(), 1);
  EXPECT_EQ(steps, 1);
  EXPECT_TRUE(f.done());
}

TEST(ResumeOn, ARefusedSubmitThrowsInTheCoroutine) {
  cftest::ManualExecutor executor;
  executor.refuse_next();
  auto f = hop(executor);
  ASSERT_TRUE(f.done()) << "the coroutine went on at once, in this thread";
  EXPECT_EQ(f.result(), "refused: refused");
}

TEST(ResumeOn, AShutDownPoolThrowsExecutorShutdown) {
  cf::ThreadPoolExecutor pool(1);
  pool.shutdown();
  EXPECT_EQ(hop(pool).result(), "refused: cannot schedule new futures after shutdown");
}

TEST(ResumeOn, ADroppedTaskResumesTheCoroutineWithCancelledError) {
  cftest::ManualExecutor executor;
  auto f = hop(executor);
  EXPECT_EQ(executor.drop_all(), 1);
  ASSERT_TRUE(f.done()) << "resumed in the thread that dropped the task";
  EXPECT_EQ(f.result(), "cancelled: resume_on: the executor dropped the task that was to resume this coroutine");
}

TEST(ResumeOn, ShutdownWithCancelFuturesResumesAQueuedCoroutineWithCancelledError) {
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto blockers = cftest::occupy_workers(pool, gate);
  auto f = hop(pool);
  pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  gate.open();
  pool.shutdown();
  EXPECT_EQ(f.result().rfind("cancelled: ", 0), 0u) << f.result();
}

TEST(ResumeOn, AnExecutorThatRunsTheTaskInsideSubmit) {
  cftest::InlineExecutor executor;
  int steps = 0;
  auto f = hop(executor, &steps);
  ASSERT_TRUE(f.done());
  EXPECT_EQ(steps, 1);
  EXPECT_EQ(f.result(), cftest::current_thread_name());
}

// Destroys every task inside schedule(), without running it or throwing.
class DroppingExecutor : public cf::Executor {
 protected:
  void schedule(cf::Task) override {}
};

TEST(ResumeOn, AnExecutorThatDropsTheTaskInsideSubmit) {
  DroppingExecutor executor;
  auto f = hop(executor);
  ASSERT_TRUE(f.done());
  EXPECT_EQ(f.result().rfind("cancelled: ", 0), 0u) << f.result();
}

}  // namespace
