// "Another build" of a program, for the test that a worker rank of a different build is refused
// (test_spawn.cpp): spawned with --cfutures-mpi-worker it serves as a worker rank (worker.cpp's
// entry), and says its own build identity in its hello. Run plainly, it prints its identity.
#include <cstdio>

#include "build_id.hpp"
#include "worker.hpp"

int main() {
  namespace mpi = concurrent::futures::detail::mpi;
  std::printf("identity=%s\nprogram=%s\n", mpi::build_identity().c_str(), mpi::this_program().c_str());
  return 0;
}
