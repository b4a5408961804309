// Workers' lifecycle: lazy start, idle reuse, saturation, max_tasks_per_child, initializer,
// shutdown (CPython test_process_pool.py test_shutdown.py test_init.py
// ), and pools created while other threads are busy.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cfutures/cfutures.hpp>
#include <cstdlib>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tasks.hpp"

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

namespace {

std::string initialized_with;  // set by the initializer, in each worker
void remember(std::string value) { initialized_with = std::move(value); }
std::string read_remembered() { return initialized_with; }

std::vector<pid_t> pids_of(std::vector<cf::Future<pid_t>>& futures) {
  std::vector<pid_t> pids;
  for (auto& f : futures) pids.push_back(f.result());
  return pids;
}

}  // namespace

// ---- Construction -----------------------------------------------------------------------

TEST(ProcessPoolLifecycle, InvalidArguments) {  //,
  EXPECT_THROW(cf::ProcessPoolExecutor(0), std::invalid_argument);
  EXPECT_THROW(cf::ProcessPoolExecutor(-1), std::invalid_argument);
  try {
    cf::ProcessPoolExecutor pool(0);
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "max_workers must be greater than 0");
  }
  EXPECT_THROW(cf::ProcessPoolExecutor({.max_tasks_per_child = 0}), std::invalid_argument);
}

TEST(ProcessPoolLifecycle, DefaultMaxWorkersIsUsableCpus) {
  cf::ProcessPoolExecutor pool;
  EXPECT_EQ(pool.max_workers(), cf::usable_cpu_count());
}

// ---- Lazy start, reuse, saturation () ---------------------------------------

TEST(ProcessPoolLifecycle, WorkersStartOnDemand) {
  cf::ProcessPoolExecutor pool(4);
  EXPECT_EQ(pool.worker_count(), 0u);
  pool.submit(pp::square, 1).result();
  EXPECT_EQ(pool.worker_count(), 1u);
}

TEST(ProcessPoolLifecycle, IdleProcessReuseOne) {  //,
  cf::ProcessPoolExecutor pool(4);
  for (int i = 0; i < 3; ++i) pool.submit(pp::square, i).result();
  EXPECT_EQ(pool.worker_count(), 1u);
}

TEST(ProcessPoolLifecycle, IdleProcessReuseMultiple) {  //,
  cf::ProcessPoolExecutor pool(4);
  pool.submit(pp::square, 1).result();
  pool.submit(pp::square, 1).result();
  auto a = pool.submit(pp::sleep_ms, 50);
  auto b = pool.submit(pp::sleep_ms, 50);
  a.result();
  b.result();
  EXPECT_LE(pool.worker_count(), 3u);
}

TEST(ProcessPoolLifecycle, Saturation) {  //,
  cf::ProcessPoolExecutor pool(3);
  std::vector<cf::Future<int>> futures;
  for (int i = 0; i < 15 * 3; ++i) futures.push_back(pool.submit(pp::sleep_ms, 5));
  EXPECT_EQ(pool.worker_count(), 3u);
  for (auto& f : futures) f.result();
}

TEST(ProcessPoolLifecycle, ProcessesTerminate) {  // test_processes_terminate
  cf::ProcessPoolExecutor pool(5);
  std::vector<cf::Future<pid_t>> futures;
  for (int i = 0; i < 3; ++i) futures.push_back(pool.submit(pp::sleep_then_pid, 200));
  EXPECT_EQ(pool.worker_count(), 3u);
  const auto pids = pids_of(futures);
  EXPECT_EQ(std::set<pid_t>(pids.begin(), pids.end()).size(), 3u);
  pool.shutdown();
  EXPECT_EQ(pool.worker_count(), 0u);
  for (pid_t pid : pids) EXPECT_NE(kill(pid, 0), 0) << pid;  // gone (the leak check sees the rest)
}

// ---- max_tasks_per_child () --------------------------------

TEST(ProcessPoolLifecycle, MaxTasksPerChildPattern) {  // pids a,a,b,b,c
  cf::ProcessPoolExecutor pool({.max_workers = 1, .max_tasks_per_child = 2});
  std::vector<cf::Future<pid_t>> futures;
  for (int i = 0; i < 5; ++i) futures.push_back(pool.submit(pp::worker_pid));
  const auto p = pids_of(futures);
  EXPECT_EQ(p[0], p[1]);
  EXPECT_NE(p[1], p[2]);
  EXPECT_EQ(p[2], p[3]);
  EXPECT_NE(p[3], p[4]);
  EXPECT_NE(p[0], p[4]);
}

TEST(ProcessPoolLifecycle, MaxTasksPerChild) {  //,
  cf::ProcessPoolExecutor pool({.max_workers = 1, .max_tasks_per_child = 3});
  std::vector<cf::Future<pid_t>> futures;
  for (int i = 0; i < 4; ++i) futures.push_back(pool.submit(pp::worker_pid));
  const auto p = pids_of(futures);
  EXPECT_EQ(p[0], p[1]);
  EXPECT_EQ(p[1], p[2]);
  EXPECT_NE(p[2], p[3]);
  pool.shutdown();
  EXPECT_EQ(pool.worker_count(), 0u);
}

TEST(ProcessPoolLifecycle, MaxTasksPerChildWithPendingTasks) {  // gh-115634
  struct Config {
    int workers, max_tasks, tasks;
  };
  for (Config c : {Config{1, 2, 6}, Config{2, 2, 8}, Config{3, 1, 12}}) {
    cf::ProcessPoolExecutor pool({.max_workers = c.workers, .max_tasks_per_child = c.max_tasks});
    std::vector<cf::Future<int>> futures;
    for (int i = 0; i < c.tasks; ++i) futures.push_back(pool.submit(pp::square, i));
    for (int i = 0; i < c.tasks; ++i) ASSERT_EQ(futures[i].result(30s), i * i) << c.workers << "/" << c.max_tasks;
  }
}

TEST(ProcessPoolLifecycle, MaxTasksEarlyShutdown) {  //,
  std::vector<cf::Future<int>> futures;
  {
    cf::ProcessPoolExecutor pool({.max_workers = 3, .max_tasks_per_child = 1});
    for (int i = 0; i < 6; ++i) futures.push_back(pool.submit(pp::square, i));
    pool.shutdown();
  }
  for (int i = 0; i < 6; ++i) EXPECT_EQ(futures[i].result(), i * i);
}

TEST(ProcessPoolLifecycle, MaxTasksShutdownNoWait) {  // gh-132969; gh-119592
  for (int workers : {2, 4}) {
    cf::ProcessPoolExecutor pool({.max_workers = workers, .max_tasks_per_child = 1});
    auto failing = pool.submit(pp::divide, 1, 0);
    auto ok = pool.submit(pp::ident, 1);
    std::vector<cf::Future<int>> more;
    for (int i = 0; i < 6; ++i) more.push_back(pool.submit(pp::ident, i));
    pool.shutdown(false);
    EXPECT_THROW(failing.result(), std::domain_error);
    EXPECT_EQ(ok.result(10s), 1);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(more[i].result(10s), i);
  }
}

TEST(ProcessPoolLifecycle, MapChunkCountsAsOneTaskPerChild) {
  cf::ProcessPoolExecutor pool({.max_workers = 1, .max_tasks_per_child = 2});
  std::vector<pid_t> pids;
  for (pid_t p : pool.map([](int) { return getpid(); }, std::vector<int>(8), cf::MapOptions{.chunksize = 2})) {
    pids.push_back(p);
  }
  ASSERT_EQ(pids.size(), 8u);
  EXPECT_EQ(pids[0], pids[3]);  // chunks 1 and 2 in the first worker
  EXPECT_NE(pids[3], pids[4]);
  EXPECT_EQ(pids[4], pids[7]);
}

// ---- Initializer () ----------------------------------------------------------------

TEST(ProcessPoolLifecycle, InitializerRunsInEachWorker) {  //,
  cf::ProcessPoolExecutor pool({.max_workers = 2, .initializer = cf::ProcessInitializer(remember, "initialized")});
  std::vector<cf::Future<std::string>> futures;
  for (int i = 0; i < 10; ++i) futures.push_back(pool.submit(read_remembered));
  for (auto& f : futures) EXPECT_EQ(f.result(), "initialized");
  EXPECT_EQ(initialized_with, "");  // never in this process
}

TEST(ProcessPoolLifecycle, InitializerFromALambda) {
  cf::ProcessPoolExecutor pool({.max_workers = 1, .initializer = [] { remember("from lambda"); }});
  EXPECT_EQ(pool.submit(read_remembered).result(), "from lambda");
}

TEST(ProcessPoolLifecycle, InitializerRunsAgainInReplacedWorkers) {
  cf::ProcessPoolExecutor pool(
      {.max_workers = 1, .initializer = cf::ProcessInitializer(remember, "again"), .max_tasks_per_child = 1});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pool.submit(read_remembered).result(), "again");
}

TEST(ProcessPoolLifecycle, InitializerArgumentThatCannotBeSerialized) {
  EXPECT_THROW(cf::ProcessInitializer(pp::take_trap, pp::Trap{pp::Trap::kThrowOnSave}), cf::SerializationError);
}

// ---- Shutdown () --------------------------------------------------

TEST(ProcessPoolLifecycle, RunAfterShutdown) {  //,
  cf::ProcessPoolExecutor pool(1);
  pool.shutdown();
  try {
    pool.submit(pp::square, 2);
    FAIL();
  } catch (const cf::ExecutorShutdown& e) {
    EXPECT_STREQ(e.what(), "cannot schedule new futures after shutdown");
  }
}

TEST(ProcessPoolLifecycle, ShutdownTwiceIsHarmless) {
  cf::ProcessPoolExecutor pool(1);
  pool.submit(pp::square, 2).result();
  pool.shutdown();
  pool.shutdown();
  pool.shutdown(false, true);
}

TEST(ProcessPoolLifecycle, HangIssue12364) {  //,
  cf::ProcessPoolExecutor pool(2);
  std::vector<cf::Future<int>> futures;
  for (int i = 0; i < 50; ++i) futures.push_back(pool.submit(pp::sleep_ms, 1));
  pool.shutdown();
  for (auto& f : futures) EXPECT_EQ(f.result(), 1);
}

TEST(ProcessPoolLifecycle, CancelFutures) {  //,
  cf::ProcessPoolExecutor pool(2);
  std::vector<cf::Future<int>> futures;
  for (int i = 0; i < 50; ++i) futures.push_back(pool.submit(pp::sleep_ms, 100));
  pool.shutdown(true, true);
  int cancelled = 0;
  int finished = 0;
  for (auto& f : futures) {
    if (f.cancelled()) {
      ++cancelled;
    } else {
      ASSERT_TRUE(f.done());
      EXPECT_EQ(f.exception(), nullptr);
      ++finished;
    }
  }
  EXPECT_GT(cancelled, 20);
  EXPECT_GE(finished, 1);
}

TEST(ProcessPoolLifecycle, HangGh94440) {  //,
  cf::ProcessPoolExecutor pool(1);
  pool.submit(pp::ident, 1).result();
  pool.submit(pp::ident, 1).cancel();
  pool.shutdown(true);
}

TEST(ProcessPoolLifecycle, ShutdownNoWait) {  //,
  std::vector<cf::Future<int>> futures;
  {
    cf::ProcessPoolExecutor pool(2);
    for (int i = 0; i < 10; ++i) futures.push_back(pool.submit(pp::sleep_ms, 10 + i));
    pool.shutdown(false);
    EXPECT_THROW(pool.submit(pp::square, 1), cf::ExecutorShutdown);
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(futures[i].result(), 10 + i);
}

TEST(ProcessPoolLifecycle, ShutdownFromADoneCallback) {
  std::promise<void> called;
  {
    cf::ProcessPoolExecutor pool(1);
    pool.submit(pp::square, 1).add_done_callback([&](cf::Future<int>) {
      pool.shutdown(true);  // runs in the pool's own thread: must not wait for itself
      called.set_value();
    });
    called.get_future().wait();
  }
}

TEST(ProcessPoolLifecycle, CancelAPendingFuture) {
  cf::ProcessPoolExecutor pool(1);
  auto busy1 = pool.submit(pp::sleep_ms, 200);
  auto busy2 = pool.submit(pp::sleep_ms, 200);
  auto waiting = pool.submit(pp::square, 3);
  EXPECT_TRUE(waiting.cancel());
  EXPECT_TRUE(waiting.cancelled());
  EXPECT_THROW(waiting.result(), cf::CancelledError);
  EXPECT_FALSE(busy1.cancel());  // sent to the worker: running, as in CPython's call queue
  EXPECT_EQ(busy1.result(), 200);
  EXPECT_EQ(busy2.result(), 200);
}

// ---- Creating pools while other threads are busy ------------------------------

TEST(ProcessPoolLifecycle, CreationWhileABusyThreadPoolAllocates) {
  std::atomic<bool> stop{false};
  std::mutex shared;
  cf::ThreadPoolExecutor threads(4);
  std::vector<cf::Future<void>> churn;
  for (int t = 0; t < 4; ++t) {
    churn.push_back(threads.submit([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        std::lock_guard lock(shared);  // locks held while the pool forks its server
        std::vector<std::string> garbage(64, std::string(100, 'x'));
        std::free(std::malloc(1000));
      }
    }));
  }
  for (int round = 0; round < 20; ++round) {
    cf::ProcessPoolExecutor pool(2);
    ASSERT_EQ(pool.submit(pp::square, round).result(30s), round * round);
    ASSERT_EQ(pool.submit([](std::string s) { return s.size(); }, std::string(50, 'y')).result(30s), 50u);
  }
  stop = true;
  for (auto& f : churn) f.result();
}

TEST(ProcessPoolLifecycle, ManyPoolsAtOnce) {
  std::vector<std::unique_ptr<cf::ProcessPoolExecutor>> pools;
  for (int i = 0; i < 6; ++i) pools.push_back(std::make_unique<cf::ProcessPoolExecutor>(2));
  std::vector<cf::Future<int>> futures;
  for (int i = 0; i < 60; ++i) futures.push_back(pools[i % 6]->submit(pp::square, i));
  for (int i = 0; i < 60; ++i) EXPECT_EQ(futures[i].result(), i * i);
}

TEST(ProcessPoolLifecycle, SubmitFromManyThreads) {
  cf::ProcessPoolExecutor pool(2);
  std::vector<std::thread> threads;
  std::atomic<long> sum{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<cf::Future<int>> mine;
      for (int i = 0; i < 500; ++i) mine.push_back(pool.submit(pp::add, t, i));
      for (int i = 0; i < 500; ++i) sum += mine[i].result();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sum.load(), 4L * (499 * 500 / 2) + 500L * (0 + 1 + 2 + 3));
}

TEST(ProcessPoolLifecycle, ATaskCanUseItsOwnProcessPool) {
  cf::ProcessPoolExecutor pool(1);
  auto nested = pool.submit(
      [](int x) {
        cf::ProcessPoolExecutor inner(1);
        return inner.submit(pp::square, x).result() +
               static_cast<int>(inner.submit(pp::worker_pid).result() != getpid());
      },
      7);
  EXPECT_EQ(nested.result(), 50);
}
