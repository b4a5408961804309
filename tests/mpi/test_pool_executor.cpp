// cf::MPIPoolExecutor (cfutures/mpi.hpp) from a program run by `mpiexec -n 1` and (the
// ".singleton" variants) without mpiexec: its worker ranks are spawned copies of this test
// program. After mpi4py's test_futures.py (ProcessPoolExecutor-like cases) and CPython's
// test_concurrent_futures where they apply.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cfutures/cfutures.hpp"
#include "cfutures/mpi.hpp"

namespace cf = concurrent::futures;
using testing::HasSubstr;

namespace {

long square(long x) { return x * x; }
long pid_of_worker(int) { return static_cast<long>(getpid()); }
int refuse(int x) { throw std::invalid_argument("refused " + std::to_string(x)); }
void die_now() { ::raise(SIGKILL); }

int g_initialized = 0;
void initialize(int value) { g_initialized = value; }
int initialized_value() { return g_initialized; }
void failing_initializer() { throw std::runtime_error("the initializer refuses"); }

bool under_mpiexec() { return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr; }

TEST(MPIPoolExecutor, SubmitRunsTheCallInAWorkerRankAndReturnsItsResult) {
  cf::MPIPoolExecutor pool(2);
  EXPECT_EQ(pool.max_workers(), 2u);
  EXPECT_EQ(pool.submit(square, 12L).result(), 144);
  EXPECT_EQ(pool.num_workers(), 2u);
  const long worker = pool.submit(pid_of_worker, 0).result();
  EXPECT_NE(worker, static_cast<long>(getpid()));
}

TEST(MPIPoolExecutor, CallsSpreadOverTheRanks) {
  cf::MPIPoolExecutor pool(2);
  std::set<long> pids;
  // Calls go to the first free rank: with enough of them in flight both ranks serve.
  for (int round = 0; round < 20 && pids.size() < 2; ++round) {
    std::vector<cf::Future<long>> fs;
    for (int i = 0; i < 50; ++i) fs.push_back(pool.submit(pid_of_worker, i));
    for (auto& f : fs) pids.insert(f.result());
  }
  EXPECT_EQ(pids.size(), 2u);
}

TEST(MPIPoolExecutor, AnExceptionCrossesByType) {
  cf::MPIPoolExecutor pool(1);
  auto f = pool.submit(refuse, 7);
  try {
    f.result();
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "refused 7");
  }
}

TEST(MPIPoolExecutor, MapKeepsInputOrderWithAndWithoutChunks) {
  cf::MPIPoolExecutor pool(2);
  std::vector<long> xs;
  for (long i = 0; i < 300; ++i) xs.push_back(i);
  for (std::size_t chunksize : {std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
    std::vector<long> got;
    for (long v : pool.map(square, xs, cf::MapOptions{.chunksize = chunksize})) got.push_back(v);
    ASSERT_EQ(got.size(), xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(got[i], xs[i] * xs[i]) << "chunksize " << chunksize;
  }
}

TEST(MPIPoolExecutor, ItsFuturesMixWithThreadPoolFuturesInAsCompleted) {
  cf::MPIPoolExecutor ranks(1);
  cf::ThreadPoolExecutor threads(1);
  std::vector<cf::Future<long>> fs{ranks.submit(square, 3L), threads.submit(square, 4L)};
  long sum = 0;
  for (auto&& f : cf::as_completed(fs, std::chrono::seconds(60))) sum += f.result();
  EXPECT_EQ(sum, 25);
}

// A done-callback runs in the pool's manager thread, which also receives the replies: a wait
// there on another call of the same pool keeps receiving them, so it returns.
TEST(MPIPoolExecutor, ADoneCallbackCanWaitForAnotherCallOfThePool) {
  cf::MPIPoolExecutor pool(1);
  std::promise<long> seen;
  pool.submit(square, 2L).add_done_callback([&](cf::Future<long> f) {
    auto next = pool.submit(square, f.result());
    std::vector<cf::Future<long>> one{next};
    cf::wait(one);
    seen.set_value(next.result());
  });
  auto got = seen.get_future();
  ASSERT_EQ(got.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(got.get(), 16);
}

TEST(MPIPoolExecutor, TheInitializerRunsInEveryRankBeforeItsFirstCall) {
  cf::MPIPoolExecutor pool(cf::MPIPoolOptions{.max_workers = 2, .initializer = cf::ProcessInitializer(initialize, 42)});
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(pool.submit(initialized_value));
  for (auto& f : fs) EXPECT_EQ(f.result(), 42);
}

TEST(MPIPoolExecutor, AFailingInitializerBreaksThePool) {
  cf::MPIPoolExecutor pool(cf::MPIPoolOptions{.max_workers = 1, .initializer = failing_initializer});
  auto f = pool.submit(square, 2L);
  EXPECT_THROW(f.result(std::chrono::seconds(60)), cf::BrokenMPIPool);
  EXPECT_THROW(pool.submit(square, 3L), cf::BrokenMPIPool);
}

TEST(MPIPoolExecutor, BootupSpawnsTheRanksBeforeTheFirstSubmit) {
  cf::MPIPoolExecutor pool(2);
  EXPECT_EQ(pool.num_workers(), 0u);
  EXPECT_EQ(&pool.bootup(), &pool);
  EXPECT_EQ(pool.num_workers(), 2u);
  pool.bootup();  // again: nothing more
  EXPECT_EQ(pool.num_workers(), 2u);
  EXPECT_EQ(pool.submit(square, 5L).result(), 25);
}

TEST(MPIPoolExecutor, AnExecutorNeverUsedSpawnsNothing) {
  cf::MPIPoolExecutor pool(2);
  pool.shutdown();
  pool.bootup();  // after shutdown: nothing
  EXPECT_EQ(pool.num_workers(), 0u);
}

TEST(MPIPoolExecutor, SubmitAfterShutdownThrows) {
  cf::MPIPoolExecutor pool(1);
  EXPECT_EQ(pool.submit(square, 2L).result(), 4);
  pool.shutdown();
  EXPECT_THROW(pool.submit(square, 3L), cf::ExecutorShutdown);
}

TEST(MPIPoolExecutor, ShutdownWithCancelFuturesCancelsQueuedCalls) {
  cf::MPIPoolExecutor pool(1);
  std::vector<cf::Future<long>> fs;
  for (long i = 0; i < 20000; ++i) fs.push_back(pool.submit(square, i));
  // A call already sent to the rank is not cancelled: wait until the first one is.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs[0].running() && !fs[0].done() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_TRUE(fs[0].running() || fs[0].done()) << "the first call never started";
  pool.shutdown(true, true);
  EXPECT_EQ(fs[0].result(), 0);
  std::size_t cancelled = 0;
  for (std::size_t i = 0; i < fs.size(); ++i) {
    ASSERT_TRUE(fs[i].done());
    if (fs[i].cancelled()) {
      ++cancelled;
      continue;
    }
    EXPECT_EQ(fs[i].result(), static_cast<long>(i * i));
  }
  EXPECT_GE(cancelled, 1u);  // one rank cannot have run 20000 calls by the time shutdown began
}

TEST(MPIPoolExecutor, BadArgumentsAreRejectedWithTheirName) {
  try {
    cf::MPIPoolExecutor pool(0);
    FAIL() << "max_workers 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("max_workers"));
  }
  try {
    cf::MPIPoolExecutor pool(cf::MPIPoolOptions{.max_workers = 1, .start_timeout = std::chrono::milliseconds(0)});
    FAIL() << "start_timeout 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("start_timeout"));
  }
}

TEST(MPIPoolExecutor, TheDefaultSizeComesFromTheUniverse) {
  cf::MPIPoolExecutor pool;
  EXPECT_GE(pool.max_workers(), 1u);
  EXPECT_EQ(pool.num_workers(), 0u);
}

TEST(MPIPoolExecutor, ACommExecutorOverOneRankIsAnErrorThatNamesTheRemedy) {
  try {
    cf::MPICommExecutor pool(MPI_COMM_SELF, 0);
    FAIL() << "an executor without workers was made";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("mpiexec -n N"));
    EXPECT_THAT(e.what(), HasSubstr("MPIPoolExecutor"));
  }
  EXPECT_THROW(cf::MPICommExecutor(MPI_COMM_NULL, 0), std::invalid_argument);
}

// A singleton's spawned ranks can die without taking the program with them (under mpiexec MPI
// ends the whole job, docs/mpi.md): the pending futures fail with BrokenMPIPool and the pool
// refuses new calls.
TEST(MPIPoolExecutor, ADeadRankBreaksThePoolWithoutAHang) {
  if (under_mpiexec()) GTEST_SKIP() << "under mpiexec a dead rank ends the whole job";
  cf::MPIPoolExecutor pool(1);
  EXPECT_EQ(pool.submit(square, 2L).result(), 4);
  auto dying = pool.submit(die_now);
  try {
    dying.result(std::chrono::seconds(60));
    FAIL() << "the call of a dead rank returned";
  } catch (const cf::BrokenMPIPool& e) {
    EXPECT_THAT(e.what(), HasSubstr("worker rank"));
    EXPECT_THAT(e.what(), HasSubstr("is gone"));
  }
  EXPECT_THROW(pool.submit(square, 3L), cf::BrokenMPIPool);
}

}  // namespace
