// How cfutures::mpi finds MPI in a process (API.md, "Scale-out over MPI"):
//
//  - If the program did not initialize MPI, cfutures does, on first use, with MPI_Init_thread
//    asking MPI_THREAD_SERIALIZED, and finalizes it when the process exits (an atexit handler,
//    so after every executor that was destroyed before exit is gone). It cannot be initialized
//    again after that: a program that calls MPI itself must initialize it itself.
//  - If the program initialized MPI, it keeps that control (cfutures never finalizes it), and
//    it must have been provided at least MPI_THREAD_SERIALIZED: cfutures calls MPI from a thread
//    of its own (below), which MPI_THREAD_SINGLE and MPI_THREAD_FUNNELED forbid. A lower level
//    is an error (std::runtime_error naming the level) when the first executor is constructed.
//    The program must destroy its executors before it calls MPI_Finalize.
//
// Which thread calls MPI: every MPI call cfutures makes in a process, MPI_Init_thread and
// MPI_Finalize included when cfutures owns them, is made by one communication thread per
// process (src/mpi/engine.hpp), so `submit` works from any thread of the program at
// MPI_THREAD_SERIALIZED. While cfutures uses MPI, the program's own MPI calls from other threads
// are safe only if MPI provides MPI_THREAD_MULTIPLE (so a program that calls MPI itself while an
// executor runs should initialize MPI with MPI_THREAD_MULTIPLE).
//
// Example:
//   MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
//   cf::MPICommExecutor pool(MPI_COMM_WORLD, 0);  // throws: "... MPI_THREAD_FUNNELED ..."
#pragma once

#include <string>

namespace concurrent::futures::detail::mpi {

// "MPI_THREAD_SERIALIZED" for MPI_THREAD_SERIALIZED, and so on; "an unknown MPI thread level (N)"
// for a value that is none of the four.
std::string thread_level_name(int level);

// Throws std::runtime_error, naming `provided` and saying what to do, if a program that
// initialized MPI itself was provided less than MPI_THREAD_SERIALIZED.
void require_program_thread_level(int provided);

}  // namespace concurrent::futures::detail::mpi
