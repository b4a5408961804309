// Uses what cfutures::mpi brings: MPI's headers and library (through the target's usage
// requirements, from find_dependency(MPI)) and cfutures_mpi itself.
#include <mpi.h>

#include <cfutures/detail/mpi/environment.hpp>
#include <cstdio>

int main() {
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(version, &length);
  const auto name = concurrent::futures::detail::mpi::thread_level_name(MPI_THREAD_SERIALIZED);
  std::printf("%s with %.40s\n", name.c_str(), version);
  return name == "MPI_THREAD_SERIALIZED" && length > 0 ? 0 : 1;
}
