// A custom executor: a class deriving from cf::Executor that implements only schedule(cf::Task)
// gets submit, map (eager and lazy) and works with wait/as_completed; cf::Task runs the call at
// most once, and a Task destroyed or cancelled without running cancels its future (API.md
// "Executors": "A new class of executor derives from cf::Executor and implements one protected
// virtual that takes a type-erased task"; executor.hpp Task).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "executor_helpers.hpp"

namespace {

using namespace extest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

TEST(CustomExecutor, InlineExecutorSubmitMapWait) {
  InlineExecutor ex;
  auto f = ex.submit([](int a, int b) { return a * b; }, 6, 7);
  EXPECT_TRUE(f.done()) << "ran inline, before submit returned";
  EXPECT_EQ(f.result(0s), 42);
  auto failed = ex.submit([]() -> int { throw std::runtime_error("inline"); });
  EXPECT_THROW(failed.result(), std::runtime_error);
  EXPECT_EQ(collect(ex.map([](int x) { return x + 1; }, std::vector<int>{1, 2, 3})), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(collect(ex.map([](int x) { return -x; }, std::vector<int>{1, 2}, cf::MapOptions{.buffersize = 1})),
            (std::vector<int>{-1, -2}));
  auto [done, not_done] = cf::wait(std::vector<cf::Future<int>>{f, failed});
  EXPECT_EQ(done.size(), 2u);
  EXPECT_TRUE(not_done.empty());
  int yielded = 0;
  for (auto g : cf::as_completed(std::vector<cf::Future<int>>{f, failed})) yielded += g.done() ? 1 : 0;
  EXPECT_EQ(yielded, 2);
}

TEST(CustomExecutor, ManualExecutorRunsTasksWhenTold) {
  ManualExecutor ex;
  auto a = ex.submit([] { return 1; });
  auto b = ex.submit([] { return 2; });
  EXPECT_EQ(ex.queued(), 2u);
  EXPECT_FALSE(a.done());
  EXPECT_FALSE(a.running());
  cf::Future<int> waited;
  std::thread waiter([&] { waited.set_result(b.result()); });
  ex.run_all();
  waiter.join();
  EXPECT_EQ(a.result(0s), 1);
  EXPECT_EQ(waited.result(), 2);
}

TEST(CustomExecutor, TaskDestroyedUnrunCancelsItsFuture) {  // executor.hpp: "a Task destroyed unrun is cancelled"
  ManualExecutor ex;
  auto token = std::make_shared<int>(0);
  cftest::Counter calls;
  auto f = ex.submit([token, &calls] {
    calls.add();
    return *token;
  });
  bool callback_saw_cancel = false;
  f.add_done_callback([&](cf::Future<int> g) { callback_saw_cancel = g.cancelled(); });
  EXPECT_EQ(token.use_count(), 2);
  ex.drop_all();
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(callback_saw_cancel);
  EXPECT_THROW(f.result(0s), cf::CancelledError);
  EXPECT_EQ(token.use_count(), 1) << "the callable was destroyed with the task";
  EXPECT_EQ(cf::wait(std::vector<cf::Future<int>>{f}, 0s).done.size(), 1u) << "done for wait()";
  EXPECT_EQ(calls.value(), 0);
}

TEST(CustomExecutor, DestroyingTheExecutorWithQueuedTasksCancelsThem) {
  cf::Future<int> f;
  {
    ManualExecutor ex;
    f = ex.submit([] { return 1; });
  }
  EXPECT_TRUE(f.cancelled());
}

TEST(CustomExecutor, TaskCancelAndFutureAndSingleRun) {
  // An executor that inspects and then cancels or runs each task, as an implementer might.
  class Inspecting : public cf::Executor {
   public:
    bool cancel_next = false;
    std::optional<cf::AnyFuture> seen;
    bool future_after_run_threw = false;
    bool empty_after_run = false;

   protected:
    void schedule(cf::Task task) override {
      seen = task.future();
      EXPECT_TRUE(static_cast<bool>(task));
      if (cancel_next) {
        task.cancel();
      } else {
        task.run();
        task.run();  // a second run does nothing
      }
      empty_after_run = !task;
      try {
        (void)task.future();
      } catch (const std::logic_error&) {
        future_after_run_threw = true;
      }
    }
  };
  Inspecting ex;
  cftest::Counter calls;
  auto ran = ex.submit([&calls] {
    calls.add();
    return 5;
  });
  EXPECT_EQ(ran.result(), 5);
  EXPECT_EQ(calls.value(), 1) << "run() twice runs the call once";
  ASSERT_TRUE(ex.seen.has_value());
  EXPECT_EQ(*ex.seen, cf::AnyFuture(ran)) << "Task::future() is the future submit returned";
  EXPECT_TRUE(ex.empty_after_run);
  EXPECT_TRUE(ex.future_after_run_threw);

  ex.cancel_next = true;
  auto cancelled = ex.submit([&calls] {
    calls.add();
    return 6;
  });
  EXPECT_TRUE(cancelled.cancelled());
  EXPECT_EQ(calls.value(), 1);
}

TEST(CustomExecutor, RunSkipsACallWhoseFutureWasCancelledOrCompleted) {  // CPython: set_running_or_notify_cancel
  ManualExecutor ex;
  cftest::Counter calls;
  auto token = std::make_shared<int>(0);
  auto cancelled = ex.submit([&calls, token] {
    calls.add();
    return 1;
  });
  auto completed = ex.submit([&calls, token] {
    calls.add();
    return 2;
  });
  EXPECT_TRUE(cancelled.cancel());
  completed.set_result(20);  // an implementer may complete a pending future directly
  ex.run_all();
  EXPECT_EQ(calls.value(), 0);
  EXPECT_TRUE(cancelled.cancelled());
  EXPECT_EQ(completed.result(), 20);
  EXPECT_EQ(token.use_count(), 1) << "both callables were destroyed without running";
  EXPECT_THROW(cancelled.set_running_or_notify_cancel(), cf::InvalidStateError) << "the run notified the cancel";
}

TEST(CustomExecutor, ScheduleThatThrowsRefusesTheTask) {  // executor.hpp: "or throw to refuse it"
  ManualExecutor ex;
  ex.refuse_after(0);
  auto token = std::make_shared<int>(0);
  EXPECT_THROW(ex.submit([token] { return *token; }), std::runtime_error);
  EXPECT_EQ(token.use_count(), 1) << "the refused call and its future were freed";
}

TEST(CustomExecutor, ShutdownRefusesNewTasks) {  // API.md shutdown: "no new tasks"
  InlineExecutor ex;
  EXPECT_EQ(ex.submit([] { return 1; }).result(), 1);
  ex.shutdown();
  EXPECT_THROW(ex.submit([] { return 1; }), cf::ExecutorShutdown);
  EXPECT_THROW((void)ex.map([](int x) { return x; }, std::vector<int>{1}), cf::ExecutorShutdown);
  EXPECT_NO_THROW(ex.shutdown()) << "calling it again is harmless";
}

}  // namespace
