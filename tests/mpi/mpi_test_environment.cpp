// Starts cfutures' MPI engine, and so initializes MPI, before the first test of a program run
// by cf_add_mpi_test(... INIT_MPI): MPI opens descriptors, starts threads and (as a singleton)
// a helper process at initialization and keeps them until it is finalized at exit, so the leak
// accounting (tests/support) must see them in its "before" counts, not as a test's leak.
#include <gtest/gtest.h>

#include <memory>

#include "engine.hpp"

namespace {

class MpiEnvironment : public testing::Environment {
 public:
  void SetUp() override { engine_ = concurrent::futures::detail::mpi::Engine::acquire(); }
  void TearDown() override { engine_.reset(); }

 private:
  std::shared_ptr<concurrent::futures::detail::mpi::Engine> engine_;
};

[[maybe_unused]] testing::Environment* const registered = testing::AddGlobalTestEnvironment(new MpiEnvironment);

}  // namespace
