// Deadlock regressions for the thread pool: shutdown (and the destructor) called from one of
// the pool's own tasks, from two tasks at once, or from a task while another thread shuts the
// pool down; tasks that wait on other tasks of the same pool while workers are free (API.md
// "Executors" shutdown and decision 4; thread_pool.hpp: "Called from one of this pool's own
// tasks with wait=true, it waits for the other workers and lets the calling one finish on its
// own"; CPython: "shutdown() from inside one of the pool's own tasks"). A hang fails through
// the CTest timeout and the watchdog.
#include <gtest/gtest.h>

#include <barrier>
#include <memory>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

TEST(ThreadPoolDeadlock, ShutdownWaitFromInsideOwnTask) {
  cf::ThreadPoolExecutor pool(2);
  cftest::Gate gate;
  auto other = pool.submit([w = gate.waiter()] {
    w();
    return 1;
  });
  auto self = pool.submit([&pool, &gate] {
    gate.open();                   // let the other task finish...
    pool.shutdown(/*wait=*/true);  // ...and wait for it from inside this task
    return 2;
  });
  EXPECT_EQ(self.result(), 2);
  EXPECT_TRUE(other.done()) << "shutdown(wait=true) in a task returned before the other task finished";
  EXPECT_EQ(other.result(), 1);
  EXPECT_THROW(pool.submit([] {}), cf::ExecutorShutdown);
}

TEST(ThreadPoolDeadlock, ShutdownNoWaitFromInsideOwnTask) {  // CPython: "with wait=False it is fine"
  cf::ThreadPoolExecutor pool(1);
  auto self = pool.submit([&pool] {
    pool.shutdown(/*wait=*/false);
    return 3;
  });
  EXPECT_EQ(self.result(), 3);
}

TEST(ThreadPoolDeadlock, DestructorInsideOwnTask) {  // decision 4: a pool destroyed by its own task
  auto holder = std::make_shared<std::unique_ptr<cf::ThreadPoolExecutor>>(std::make_unique<cf::ThreadPoolExecutor>(2));
  cftest::Gate submitted;  // the pool may not be destroyed while submit() still runs on it
  auto done = (*holder)->submit([holder, w = submitted.waiter()] {
    w();
    holder->reset();  // ~ThreadPoolExecutor inside its own task
    return 4;
  });
  submitted.open();
  EXPECT_EQ(done.result(), 4);
  EXPECT_EQ(*holder, nullptr);
}

TEST(ThreadPoolDeadlock, TwoTasksShutDownTheirPoolAtOnce) {
  cf::ThreadPoolExecutor pool(2);
  std::barrier both(2);
  auto task = [&] {
    both.arrive_and_wait();
    pool.shutdown(/*wait=*/true);
    return 5;
  };
  auto a = pool.submit(task);
  auto b = pool.submit(task);
  EXPECT_EQ(a.result(), 5);
  EXPECT_EQ(b.result(), 5);
}

TEST(ThreadPoolDeadlock, TaskAndOutsideThreadShutDownAtOnce) {
  for (int round = 0; round < 20; ++round) {
    cf::ThreadPoolExecutor pool(2);
    std::barrier both(2);
    cftest::Gate gate;
    auto other = pool.submit([w = gate.waiter()] {
      w();
      return 1;
    });
    auto inside = pool.submit([&] {
      both.arrive_and_wait();
      gate.open();
      pool.shutdown(/*wait=*/true);
      return 6;
    });
    both.arrive_and_wait();
    pool.shutdown(/*wait=*/true);  // must wait for both tasks, and must not hang
    EXPECT_TRUE(inside.done()) << "the outside shutdown(wait=true) returned while a task still ran";
    EXPECT_TRUE(other.done());
    EXPECT_EQ(inside.result(), 6);
  }
}

TEST(ThreadPoolDeadlock, TaskWaitingOnAnotherTaskWithAFreeWorker) {  // the documented deadlock needs a saturated pool
  cf::ThreadPoolExecutor pool(2);
  auto outer = pool.submit([&pool] { return pool.submit([] { return 7; }).result() + 1; });
  EXPECT_EQ(outer.result(), 8);
}

TEST(ThreadPoolDeadlock,
     SubmitFromATaskDuringShutdownIsRefused) {  // CPython: "Submit from a worker while shutting down"
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  cftest::Counter started;
  auto task = pool.submit([&pool, &started, w = gate.waiter()] {
    started.add();
    w();
    pool.submit([] {});  // the pool is shut down by now
  });
  started.wait_for(1);
  pool.shutdown(/*wait=*/false);
  gate.open();
  EXPECT_THROW(task.result(), cf::ExecutorShutdown);
}

}  // namespace
