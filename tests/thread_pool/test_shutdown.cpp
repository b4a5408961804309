// ThreadPoolExecutor::shutdown(wait, cancel_futures) and the destructor: no new tasks; queued
// tasks still run unless cancelled; wait joins the workers; calling it again is harmless; the
// destructor waits for pending work even after shutdown(wait=false) (API.md "Executors"
// shutdown, decision 4; CPython test_shutdown.py test_shutdown_race_issue12456,
// test_interpreter_shutdown, test_hang_issue12364, test_cancel_futures,
// test_hang_gh83386, test_hang_gh94440, test_shutdown_no_wait,
// test_cancel_futures_wait_false). Program-exit cases run in a forked child.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

TEST(ThreadPoolShutdown, ShutdownRaceIssue12456) {  // CPython's tests: map(str, [2] * (workers + 1)) then shutdown()
  cf::ThreadPoolExecutor pool(3);
  auto results = pool.map([](int x) { return std::to_string(x); }, std::vector<int>(4, 2));
  pool.shutdown();
  std::vector<std::string> read;
  for (auto s : results) read.push_back(s);
  EXPECT_EQ(read, std::vector<std::string>(4, "2"));
}

TEST(ThreadPoolShutdown, HangIssue12364) {  // CPython's tests: 50 short tasks then shutdown; every result available
  cf::ThreadPoolExecutor pool(5);
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 50; ++i) fs.push_back(pool.submit([i] { return i * i; }));
  pool.shutdown();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(0s), i * i);
}

TEST(ThreadPoolShutdown, CancelFutures) {  // CPython's tests: > 20 of 50 cancelled, the rest done, >= 1 finished
  cf::ThreadPoolExecutor pool(5);
  cftest::Gate gate;
  cftest::Counter started;
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 50; ++i) {
    fs.push_back(pool.submit([i, &started, w = gate.waiter()] {
      started.add();
      w();
      return i;
    }));
  }
  started.wait_for(5);  // the five workers are busy: the other 45 are queued
  pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  gate.open();
  pool.shutdown(/*wait=*/true);
  int cancelled = 0;
  int finished = 0;
  for (auto& f : fs) {
    ASSERT_TRUE(f.done());
    if (f.cancelled()) {
      ++cancelled;
    } else {
      EXPECT_EQ(f.exception(), nullptr);
      ++finished;
    }
  }
  EXPECT_GT(cancelled, 20);
  EXPECT_GE(finished, 1);
  EXPECT_EQ(cancelled, 45) << "exactly the queued ones";
  EXPECT_EQ(finished, 5) << "exactly the running ones";
}

TEST(ThreadPoolShutdown, CancelFuturesWithWaitCancelsQueuedAndWaitsForRunning) {
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto running = cftest::occupy_workers(pool, gate).front();
  std::vector<cf::Future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(pool.submit([i] { return i; }));
  // Cancelling the last queued future (inside shutdown) releases the running task, so
  // shutdown(wait=true) can return; it must not return before the running task finished.
  queued.back().add_done_callback([&gate](const cf::Future<int>&) { gate.open(); });
  pool.shutdown(/*wait=*/true, /*cancel_futures=*/true);
  EXPECT_TRUE(running.done());
  EXPECT_NO_THROW(running.result(0s));
  for (auto& f : queued) EXPECT_TRUE(f.cancelled());
}

TEST(ThreadPoolShutdown,
     HangGh94440) {  // CPython's tests: submit(int).result(); submit(int).cancel(); shutdown(wait=True)
  cf::ThreadPoolExecutor pool(1);
  pool.submit([] { return 0; }).result();
  pool.submit([] { return 0; }).cancel();
  const auto took = cftest::elapsed([&] { pool.shutdown(/*wait=*/true); });
  EXPECT_LT(took, 5s);
}

TEST(ThreadPoolShutdown, ShutdownNoWait) {  // CPython's tests: shutdown(wait=False), then the workers are joined
  std::vector<cf::Future<int>> fs;
  {
    cf::ThreadPoolExecutor pool(5);
    for (int i = 0; i < 20; ++i) fs.push_back(pool.submit([i] { return -i; }));
    pool.shutdown(/*wait=*/false);
  }  // the destructor joins
  for (int i = 0; i < 20; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(0s), -i);
}

TEST(ThreadPoolShutdown, QueuedTasksStillRunAfterShutdownWithoutWait) {  // CPython: [verified]
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  cftest::occupy_workers(pool, gate);
  std::vector<cf::Future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(pool.submit([i] { return i; }));
  pool.shutdown(/*wait=*/false);
  EXPECT_THROW(pool.submit([] { return 0; }), cf::ExecutorShutdown);
  gate.open();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(queued[static_cast<std::size_t>(i)].result(), i);
}

TEST(ThreadPoolShutdown, ShutdownTwiceIsHarmless) {  // API.md: "Calling it again is harmless"
  cf::ThreadPoolExecutor pool(2);
  auto f = pool.submit([] { return 1; });
  pool.shutdown();
  EXPECT_NO_THROW(pool.shutdown());
  EXPECT_NO_THROW(pool.shutdown(false, true));
  EXPECT_NO_THROW(pool.shutdown(true, true));
  EXPECT_EQ(f.result(), 1);
  EXPECT_EQ(pool.worker_count(), 0u);
}

TEST(ThreadPoolShutdown, ShutdownWithoutWaitThenWaitJoins) {
  cf::ThreadPoolExecutor pool(3);
  cftest::Gate gate;
  for (int i = 0; i < 3; ++i) pool.submit(gate.waiter());
  pool.shutdown(/*wait=*/false);
  EXPECT_EQ(pool.worker_count(), 3u) << "shutdown(wait=false) returned while the tasks run";
  gate.open();
  pool.shutdown(/*wait=*/true);
  EXPECT_EQ(pool.worker_count(), 0u);
}

TEST(ThreadPoolShutdown, ShutdownFromAnotherThreadWhileTasksRun) {
  cf::ThreadPoolExecutor pool(2);
  cftest::Gate gate;
  auto f = pool.submit([w = gate.waiter()] {
    w();
    return 9;
  });
  std::thread stopper([&] { pool.shutdown(/*wait=*/true); });
  gate.open();
  stopper.join();
  EXPECT_TRUE(f.done()) << "shutdown(wait=true) returned before the running task finished";
  EXPECT_EQ(f.result(), 9);
}

// --- What happens when the program ends (CPython runs these in a subprocess) ---

TEST(ThreadPoolShutdown, InterpreterShutdown) {  // CPython's tests: the end of main waits for pending work
  CFTEST_SKIP_FORK_UNDER_TSAN();
  auto child = pooltest::run_in_child([](int out) {
    cf::ThreadPoolExecutor pool(2);
    pool.submit([out] {
      std::this_thread::sleep_for(100ms);  // still running when main's scope ends
      pooltest::write_text(out, "apple");
    });
  });  // no shutdown(): the destructor runs at the end of the scope, then _exit
  EXPECT_EQ(child.exit_code, 0);
  EXPECT_EQ(child.out, "apple");
  EXPECT_EQ(child.err, "");
}

TEST(ThreadPoolShutdown, HangGh83386) {  // CPython's tests: shutdown(wait=False) with a running task, then exit
  CFTEST_SKIP_FORK_UNDER_TSAN();
  auto child = pooltest::run_in_child([](int out) {
    cf::ThreadPoolExecutor pool(1);
    pool.submit([out] {
      std::this_thread::sleep_for(100ms);
      pooltest::write_text(out, "apple");
    });
    pool.shutdown(/*wait=*/false);
  });
  EXPECT_EQ(child.exit_code, 0);
  EXPECT_EQ(child.out, "apple");
  EXPECT_EQ(child.err, "");
}

TEST(ThreadPoolShutdown, CancelFuturesWaitFalse) {  // CPython's tests: stdout in {"apple", ""}, no stderr
  CFTEST_SKIP_FORK_UNDER_TSAN();
  auto child = pooltest::run_in_child([](int out) {
    cf::ThreadPoolExecutor pool;
    pool.submit([out] {
      std::this_thread::sleep_for(100ms);
      pooltest::write_text(out, "apple");
    });
    pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  });
  EXPECT_EQ(child.exit_code, 0);
  EXPECT_TRUE(child.out == "apple" || child.out.empty()) << child.out;
  EXPECT_EQ(child.err, "");
}

}  // namespace
