// Worker ranks spawned with MPI_Comm_spawn (src/mpi/worker.hpp), from a program run by
// `mpiexec -n 1` and (the ".singleton" variants) started without mpiexec: the spawned copies of
// this test program serve instead of running main(), say hello with their build, echo payloads
// through the engine, and stop; a worker of another build is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "build_id.hpp"
#include "engine.hpp"
#include "worker.hpp"

namespace mpi = concurrent::futures::detail::mpi;
using Clock = std::chrono::steady_clock;
using mpi::Delivery;
using testing::HasSubstr;

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(60);

TEST(SpawnedWorkers, TwoWorkersSayHelloWithThisBuildAndEchoPayloads) {
  auto engine = mpi::Engine::acquire();
  mpi::SpawnedWorkers workers(engine, 2, mpi::this_program(), kStartTimeout);
  ASSERT_EQ(workers.size(), 2);
  std::set<long> pids;
  for (const auto& hello : workers.hellos()) {
    EXPECT_EQ(hello.build, mpi::build_identity());
    EXPECT_NE(hello.pid, static_cast<long>(getpid()));
    EXPECT_FALSE(hello.host.empty());
    pids.insert(hello.pid);
  }
  EXPECT_EQ(pids.size(), 2u);

  constexpr int kEach = 500;
  for (int i = 0; i < kEach; ++i) {
    for (int r = 0; r < 2; ++r)
      engine->send(workers.intercomm(), r, mpi::kEcho,
                   std::string(static_cast<std::size_t>(i % 97), 'a' + static_cast<char>(r)) + std::to_string(i));
  }
  std::vector<Delivery> got;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (got.size() < 2 * kEach && Clock::now() < deadline) workers.inbox().take(got, deadline);
  ASSERT_EQ(got.size(), 2u * kEach);
  std::vector<int> next(2, 0);
  for (const Delivery& d : got) {
    ASSERT_EQ(d.kind, Delivery::Kind::kMessage) << d.bytes;
    ASSERT_EQ(d.tag, mpi::kEcho);
    ASSERT_TRUE(d.rank == 0 || d.rank == 1) << d.rank;
    const int i = next[static_cast<std::size_t>(d.rank)]++;
    EXPECT_EQ(d.bytes,
              std::string(static_cast<std::size_t>(i % 97), 'a' + static_cast<char>(d.rank)) + std::to_string(i));
  }
  EXPECT_TRUE(workers.stop(std::chrono::seconds(30)));
}

// Test programs link the process pool, whose entry forks an early fork server during static
// initialization and runs the initializers after its own in it, this program's MPI worker entry
// among them: the server must stay a fork server (common/program_image.hpp, "taken over"), not
// turn into a second worker rank (which, with no parent job, would exit).
TEST(SpawnedWorkers, AWorkersEarlyForkServerStaysAForkServer) {
  auto engine = mpi::Engine::acquire();
  mpi::SpawnedWorkers workers(engine, 1, mpi::this_program(), kStartTimeout);
  const std::string pid = std::to_string(workers.hellos()[0].pid);
  std::ifstream children("/proc/" + pid + "/task/" + pid + "/children");
  std::vector<std::string> names;
  for (std::string child; children >> child;) {
    std::ifstream comm("/proc/" + child + "/comm");
    std::string name;
    std::getline(comm, name);
    names.push_back(name);
  }
  EXPECT_THAT(names, testing::Contains("cf-forkserver"));
  EXPECT_TRUE(workers.stop(std::chrono::seconds(30)));
}

TEST(SpawnedWorkers, AWorkerOfAnotherBuildIsRefusedWithAMessageSayingSo) {
  auto engine = mpi::Engine::acquire();
  try {
    mpi::SpawnedWorkers workers(engine, 1, CF_MPI_OTHER_BUILD, kStartTimeout);
    FAIL() << "a worker of another build was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("worker rank 0"));
    EXPECT_THAT(e.what(), HasSubstr("runs a different build of the program"));
    EXPECT_THAT(e.what(), HasSubstr(mpi::build_identity()));
  }
}

TEST(SpawnedWorkers, SpawningFewerThanOneWorkerIsAnError) {
  auto engine = mpi::Engine::acquire();
  EXPECT_THROW(mpi::spawn_workers(*engine, 0, mpi::this_program()), std::invalid_argument);
}

TEST(SpawnedWorkers, AProgramThatCannotBeExecutedIsAnErrorNotAHang) {
  auto engine = mpi::Engine::acquire();
  try {
    mpi::spawn_workers(*engine, 1, "/nonexistent/program");
    FAIL() << "spawned a program that does not exist";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/program"));
    EXPECT_THAT(e.what(), HasSubstr("No such file"));
  }
}

TEST(SpawnedWorkers, HellosAreCheckedForShape) {
  const mpi::Hello hello{"gnu-build-id:ab", 42, "node1"};
  const auto back = mpi::decode_hello(mpi::encode_hello(hello));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->build, hello.build);
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->host, "node1");
  for (const char* bad : {"", "a", "a\n1", "a\nx\nhost", "\n1\nhost", "a\n1\nhost\nmore", "a\n-3\nh"}) {
    EXPECT_FALSE(mpi::decode_hello(bad).has_value()) << bad;
  }
}

}  // namespace
