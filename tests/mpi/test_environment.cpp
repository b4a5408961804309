// The MPI environment rules (cfutures/detail/mpi/environment.hpp): who initializes and finalizes
// MPI, the thread level a program must provide, the worker flag without a parent, and the build
// identity. Each case runs mpi_env_probe (or another helper) as a fresh process, a singleton
// unless it says mpiexec.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "build_id.hpp"
#include "cfutures/detail/mpi/environment.hpp"
#include "run_program.hpp"

namespace mpi = concurrent::futures::detail::mpi;
using cftest::run_program;
using testing::HasSubstr;

namespace {

const std::vector<std::string> kMpiEnv = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                                          "OMPI_MCA_btl_tcp_if_include=lo", "OMPI_MCA_oob_tcp_if_include=lo"};

cftest::ProgramRun probe(std::vector<std::string> args) {
  args.insert(args.begin(), CF_MPI_ENV_PROBE);
  return run_program(args, kMpiEnv);
}

std::string real_path(const char* path) {
  char resolved[PATH_MAX];
  return realpath(path, resolved) != nullptr ? resolved : path;
}

TEST(MpiEnvironment, ThreadLevelsHaveTheirNames) {
  EXPECT_EQ(mpi::thread_level_name(MPI_THREAD_SINGLE), "MPI_THREAD_SINGLE");
  EXPECT_EQ(mpi::thread_level_name(MPI_THREAD_FUNNELED), "MPI_THREAD_FUNNELED");
  EXPECT_EQ(mpi::thread_level_name(MPI_THREAD_SERIALIZED), "MPI_THREAD_SERIALIZED");
  EXPECT_EQ(mpi::thread_level_name(MPI_THREAD_MULTIPLE), "MPI_THREAD_MULTIPLE");
  EXPECT_THAT(mpi::thread_level_name(12345), HasSubstr("12345"));
}

TEST(MpiEnvironment, AProgramLevelBelowSerializedIsAnErrorNamingIt) {
  for (const int level : {MPI_THREAD_SINGLE, MPI_THREAD_FUNNELED}) {
    try {
      mpi::require_program_thread_level(level);
      ADD_FAILURE() << "accepted " << mpi::thread_level_name(level);
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(mpi::thread_level_name(level)));
      EXPECT_THAT(e.what(), HasSubstr("MPI_THREAD_SERIALIZED"));
    }
  }
  EXPECT_NO_THROW(mpi::require_program_thread_level(MPI_THREAD_SERIALIZED));
  EXPECT_NO_THROW(mpi::require_program_thread_level(MPI_THREAD_MULTIPLE));
}

TEST(MpiEnvironment, CfuturesInitializesMpiWhenTheProgramDidNotAndFinalizesItAtExit) {
  const auto run = probe({"auto"});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("owns_mpi=1\n"));
  EXPECT_THAT(run.output, HasSubstr("world_size=1\n"));
  EXPECT_THAT(run.output, testing::ContainsRegex("level=MPI_THREAD_(SERIALIZED|MULTIPLE)\n"));
  EXPECT_THAT(run.output, HasSubstr("same_engine=1\n"));  // kept until exit, not finalized early
  EXPECT_THAT(run.output, HasSubstr("finalized_at_exit=1\n"));
}

TEST(MpiEnvironment, CfuturesInitializesMpiUnderMpiexecToo) {
  const auto run = run_program({CF_MPIEXEC, "-n", "2", "--oversubscribe", CF_MPI_ENV_PROBE, "auto"}, kMpiEnv);
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("world_size=2\n"));
  EXPECT_THAT(run.output, HasSubstr("finalized_at_exit=1\n"));
}

TEST(MpiEnvironment, AProgramThatInitializedMpiKeepsControlOfIt) {
  for (const char* level : {"SERIALIZED", "MULTIPLE"}) {
    const auto run = probe({"program", level});
    ASSERT_EQ(run.status, 0) << run.output;
    EXPECT_THAT(run.output, HasSubstr("owns_mpi=0\n")) << level;
    EXPECT_THAT(run.output, HasSubstr("finalized_after_release=0\n")) << level;
    EXPECT_THAT(run.output, HasSubstr("program_finalized=1\n")) << level;
    // A second engine after the first one ended works on the same MPI.
    const auto second = run.output.find("acquired=1", run.output.find("finalized_after_release"));
    EXPECT_NE(second, std::string::npos) << run.output;
  }
}

TEST(MpiEnvironment, AProgramThatInitializedMpiBelowSerializedIsRefusedWithTheLevel) {
  for (const char* level : {"SINGLE", "FUNNELED"}) {
    const auto run = probe({"program", level});
    ASSERT_EQ(run.status, 0) << run.output;
    EXPECT_THAT(run.output, HasSubstr(std::string("refused=cfutures::mpi: the program initialized MPI with thread "
                                                  "support MPI_THREAD_") +
                                      level))
        << run.output;
    EXPECT_THAT(run.output, HasSubstr("program_finalized=1\n"));
  }
}

TEST(MpiEnvironment, FinalizedMpiCannotBeUsed) {
  const auto run = probe({"finalized"});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("refused=cfutures::mpi: MPI was finalized"));
}

TEST(MpiEnvironment, AWorkerStartedWithoutAParentJobExitsWithAMessage) {
  const auto run = probe({"--cfutures-mpi-worker"});
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr("has no parent MPI job"));
  EXPECT_THAT(run.output, testing::Not(HasSubstr("usage:")));  // main() did not run
}

TEST(MpiEnvironment, AWorkerStartedByMpiexecWithoutAParentExitsWithAMessage) {
  const auto run = run_program({CF_MPIEXEC, "-n", "1", CF_MPI_ENV_PROBE, "--cfutures-mpi-worker"}, kMpiEnv);
  EXPECT_NE(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("has no parent MPI job"));
  EXPECT_THAT(run.output, testing::Not(HasSubstr("usage:")));
}

TEST(BuildIdentity, IsTheBuildIdNoteAndTheSameInEveryRunOfOneBuild) {
  const auto first = probe({"identity"});
  const auto second = probe({"identity"});
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_THAT(first.output, testing::ContainsRegex("identity=gnu-build-id:[0-9a-f]{16,}\n"));
  EXPECT_EQ(first.output, second.output);
  EXPECT_THAT(first.output, HasSubstr("program=" + real_path(CF_MPI_ENV_PROBE) + "\n"));
  EXPECT_THAT(mpi::build_identity(), testing::StartsWith("gnu-build-id:"));
  EXPECT_THAT(first.output, testing::Not(HasSubstr(mpi::build_identity())));  // another program
}

TEST(BuildIdentity, WithoutABuildIdItIsAHashOfTheExecutable) {
  const auto run = run_program({CF_MPI_OTHER_BUILD_NO_ID});
  ASSERT_EQ(run.status, 0) << run.output;
  const std::string expected = mpi::file_identity(CF_MPI_OTHER_BUILD_NO_ID);
  EXPECT_THAT(expected, testing::StartsWith("exe-fnv1a64:"));
  EXPECT_THAT(run.output, HasSubstr("identity=" + expected + "\n"));
  EXPECT_NE(mpi::file_identity(CF_MPI_OTHER_BUILD_NO_ID), mpi::file_identity(CF_MPI_OTHER_BUILD));
  EXPECT_THROW(mpi::file_identity("/nonexistent/program"), std::runtime_error);
}

TEST(BuildIdentity, TheMessageForADifferentBuildSaysSo) {
  const std::string text = mpi::different_build_message(3, "node7", "gnu-build-id:aa", "gnu-build-id:bb");
  EXPECT_THAT(text, HasSubstr("worker rank 3 on node7 runs a different build of the program"));
  EXPECT_THAT(text, HasSubstr("gnu-build-id:aa"));
  EXPECT_THAT(text, HasSubstr("gnu-build-id:bb"));
}

}  // namespace
