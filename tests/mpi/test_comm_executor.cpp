// cf::MPICommExecutor (cfutures/mpi.hpp) over the ranks of `mpiexec -n 3`: every rank runs each
// test; the root gets an executor over the two others, which serve its calls inside their
// constructor and then return an object that converts to false. After mpi4py's test_futures.py
// (its MPICommExecutor cases).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cfutures/cfutures.hpp"
#include "cfutures/mpi.hpp"

namespace cf = concurrent::futures;

namespace {

long square(long x) { return x * x; }
// The world rank that ran the call (mpiexec says it in the environment: no MPI call is needed,
// which a call may not make while cfutures' engine runs MPI_THREAD_SERIALIZED).
int world_rank(int) { return std::atoi(std::getenv("OMPI_COMM_WORLD_RANK")); }
int refuse(int x) { throw std::out_of_range("out " + std::to_string(x)); }

int my_rank() { return std::atoi(std::getenv("OMPI_COMM_WORLD_RANK")); }

void check_served(const cf::MPICommExecutor& pool) {
  EXPECT_FALSE(pool);
  EXPECT_EQ(pool.num_workers(), 0u);
  EXPECT_EQ(pool.served_status(), 0);
}

TEST(MPICommExecutor, TheRootSubmitsAndTheOtherRanksServe) {
  cf::MPICommExecutor pool(MPI_COMM_WORLD, 0);
  if (!pool) return check_served(pool);
  EXPECT_EQ(my_rank(), 0);
  EXPECT_EQ(pool.num_workers(), 2u);
  EXPECT_EQ(pool.submit(square, 9L).result(), 81);
  std::set<int> ranks;
  for (int round = 0; round < 20 && ranks.size() < 2; ++round) {
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 50; ++i) fs.push_back(pool.submit(world_rank, i));
    for (auto& f : fs) ranks.insert(f.result());
  }
  EXPECT_EQ(ranks, (std::set<int>{1, 2}));
}

TEST(MPICommExecutor, AnyRankCanBeTheRoot) {
  cf::MPICommExecutor pool(MPI_COMM_WORLD, 2);
  if (!pool) return check_served(pool);
  EXPECT_EQ(my_rank(), 2);
  std::set<int> ranks;
  for (int round = 0; round < 20 && ranks.size() < 2; ++round) {
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 50; ++i) fs.push_back(pool.submit(world_rank, i));
    for (auto& f : fs) ranks.insert(f.result());
  }
  EXPECT_EQ(ranks, (std::set<int>{0, 1}));
}

TEST(MPICommExecutor, MapWithChunksAndExceptions) {
  cf::MPICommExecutor pool(MPI_COMM_WORLD, 0);
  if (!pool) return check_served(pool);
  std::vector<long> xs;
  for (long i = 0; i < 1000; ++i) xs.push_back(i);
  long i = 0;
  for (long v : pool.map(square, xs, cf::MapOptions{.chunksize = 64})) {
    EXPECT_EQ(v, i * i);
    ++i;
  }
  EXPECT_EQ(i, 1000);
  auto f = pool.submit(refuse, 3);
  EXPECT_THROW(f.result(), std::out_of_range);
}

TEST(MPICommExecutor, SubmitsFromManyThreadsAllComplete) {
  cf::MPICommExecutor pool(MPI_COMM_WORLD, 0);
  if (!pool) return check_served(pool);
  std::vector<std::thread> threads;
  std::vector<long> sums(4, 0);
  for (std::size_t t = 0; t < sums.size(); ++t) {
    threads.emplace_back([&, t] {
      std::vector<cf::Future<long>> fs;
      for (long x = 0; x < 200; ++x) fs.push_back(pool.submit(square, x));
      for (auto& f : fs) sums[t] += f.result();
    });
  }
  for (auto& th : threads) th.join();
  for (long s : sums) EXPECT_EQ(s, 199L * 200 * 399 / 6);
}

TEST(MPICommExecutor, TheRanksCanMakeAnotherExecutorAfterTheFirst) {
  for (int round = 0; round < 3; ++round) {
    cf::MPICommExecutor pool(MPI_COMM_WORLD, round % 3);
    if (!pool) {
      check_served(pool);
      continue;
    }
    EXPECT_EQ(pool.submit(square, static_cast<long>(round)).result(), round * round);
  }
}

TEST(MPICommExecutor, ARootOutsideTheCommunicatorIsAnError) {
  EXPECT_THROW(cf::MPICommExecutor(MPI_COMM_WORLD, 3), std::invalid_argument);
  EXPECT_THROW(cf::MPICommExecutor(MPI_COMM_WORLD, -1), std::invalid_argument);
}

TEST(MPICommExecutor, AServingRankCannotSubmit) {
  cf::MPICommExecutor pool(MPI_COMM_WORLD, 0);
  if (pool) return;
  EXPECT_THROW(pool.submit(square, 1L), std::exception);
}

}  // namespace
