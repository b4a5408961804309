#include "cfutures/detail/mpi/environment.hpp"

#include <mpi.h>

#include <stdexcept>

namespace concurrent::futures::detail::mpi {

std::string thread_level_name(int level) {
  if (level == MPI_THREAD_SINGLE) return "MPI_THREAD_SINGLE";
  if (level == MPI_THREAD_FUNNELED) return "MPI_THREAD_FUNNELED";
  if (level == MPI_THREAD_SERIALIZED) return "MPI_THREAD_SERIALIZED";
  if (level == MPI_THREAD_MULTIPLE) return "MPI_THREAD_MULTIPLE";
  return "an unknown MPI thread level (" + std::to_string(level) + ")";
}

void require_program_thread_level(int provided) {
  if (provided >= MPI_THREAD_SERIALIZED) return;
  throw std::runtime_error("cfutures::mpi: the program initialized MPI with thread support " +
                           thread_level_name(provided) +
                           ", but cfutures calls MPI from a communication thread of its own, which needs at least "
                           "MPI_THREAD_SERIALIZED: initialize MPI with MPI_Init_thread(..., MPI_THREAD_SERIALIZED or "
                           "MPI_THREAD_MULTIPLE, ...), or leave MPI's initialization to cfutures");
}

}  // namespace concurrent::futures::detail::mpi
