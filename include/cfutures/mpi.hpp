// cf::MPIPoolExecutor and cf::MPICommExecutor: executors whose workers are MPI ranks, on this
// machine or on many (mpi4py.futures' two executors). Link cfutures::mpi (pkg-config cfutures-mpi).
//
//   long collatz_steps(long n) { ... }
//
//   int main() {                                   // ./app, or mpiexec -n 1 ./app
//     cf::MPIPoolExecutor pool(4);                  // spawns 4 worker ranks (MPI_Comm_spawn)
//     std::cout << pool.submit(collatz_steps, 27L).result() << "\n";
//   }
//
//   int main() {                                   // mpiexec -n 8 ./app
//     cf::MPICommExecutor pool(MPI_COMM_WORLD, 0);  // every rank constructs it
//     if (pool) {                                   // only rank 0 gets here with an executor
//       for (long steps : pool.map(collatz_steps, std::vector<long>{1, 2, 3})) std::cout << steps << "\n";
//     }                                             // the other 7 ranks served calls meanwhile
//   }
//
// What crosses, and how, is the process pool's rule (cfutures/process_pool.hpp): the callable by
// identity (every rank runs the same program: a rank that runs another build is refused at start
// with an error saying so), arguments and results with cereal, exceptions by type. MPI: if the
// program has not initialized it, the first executor does (MPI_THREAD_SERIALIZED) and it is
// finalized at exit; a program that initialized MPI itself keeps that control and must provide
// MPI_THREAD_SERIALIZED or more (detail/mpi/environment.hpp). Every MPI call cfutures makes runs
// on one communication thread of its own. See docs/mpi.md.
//
// Faults: a worker rank that dies fails the pending and running futures with cf::BrokenMPIPool,
// and later submits throw it, where MPI lets the program live on: a singleton's spawned ranks
// (checked ten times a second). Under mpiexec, MPI itself ends the whole job with a message
// naming the rank (OpenMPI 4.1 has no fault tolerance).
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include "cfutures/detail/remote/remote_executor.hpp"
#include "cfutures/errors.hpp"
#include "cfutures/process_pool.hpp"

namespace concurrent::futures {

struct MPIPoolOptions {
  // How many worker ranks to spawn; must be > 0. Default: the MPI universe size (MPI_UNIVERSE_SIZE)
  // minus one, at least 1.
  std::optional<int> max_workers{};
  // Runs in each worker rank before its first call (Python's initializer and initargs). If it
  // throws or the rank dies in it, the pool is broken.
  ProcessInitializer initializer{};
  // How long the spawned ranks may take to start and say hello before the pool gives up.
  std::chrono::milliseconds start_timeout = std::chrono::seconds(60);
};

// An executor over worker ranks that it spawns with MPI_Comm_spawn, running this same program
// (a spawned copy serves calls instead of running main()). The ranks are spawned at the first
// submit() or map(), or at bootup().
class MPIPoolExecutor : public detail::remote::RemoteExecutor {
 public:
  // max_workers from the universe size.
  MPIPoolExecutor();
  // Throws std::invalid_argument if max_workers <= 0.
  explicit MPIPoolExecutor(int max_workers);
  // Throws std::invalid_argument if max_workers <= 0 or start_timeout <= 0.
  explicit MPIPoolExecutor(MPIPoolOptions options);
  // shutdown(wait=true), then stops and disconnects the worker ranks.
  ~MPIPoolExecutor() override;

  // Spawns the worker ranks now (if not yet) and waits for each to say hello. Throws
  // BrokenMPIPool (what() says why: the spawn failed, a rank runs another build, a rank did not
  // start in time); later submits throw it too. After shutdown() it does nothing.
  MPIPoolExecutor& bootup();

  // The worker ranks spawned (0 before the first submit or bootup(); mpi4py's num_workers).
  std::size_t num_workers() const noexcept;
  // How many worker ranks the pool spawns.
  std::size_t max_workers() const noexcept;

 private:
  struct Ranks;
  detail::remote::RemotePool& pool_for_submit() override;
  detail::remote::RemotePool* started_pool() noexcept override;
  // No spawn after shutdown() (bootup() then does nothing).
  void on_shutdown(bool wait, bool cancel_futures) override;

  std::unique_ptr<Ranks> ranks_;
};

// An executor over the ranks of a communicator that the program already has (mpiexec -n N):
// the root's executor sends calls to the other N - 1 ranks, which serve them inside their own
// constructor until the root's executor shuts down (mpi4py's `with MPICommExecutor(comm, root)`).
class MPICommExecutor : public detail::remote::RemoteExecutor {
 public:
  // Collective over `comm`: every rank of it must construct one with the same root. On the
  // root it returns an executor at once; on the other ranks it returns after serving, and the
  // object converts to false. Works on a duplicate of comm, so the program's own messages on
  // comm never mix with its own. Throws std::invalid_argument if comm is MPI_COMM_NULL, an
  // intercommunicator, has fewer than 2 ranks (there would be no worker: use MPIPoolExecutor),
  // or root is not a rank of it; std::runtime_error if a rank runs another build of the program
  // (on the root; the other ranks then return as above) or MPI fails.
  explicit MPICommExecutor(MPI_Comm comm = MPI_COMM_WORLD, int root = 0,
                           std::chrono::milliseconds start_timeout = std::chrono::seconds(60));
  // On the root: shutdown(wait=true), then releases the other ranks (their constructors
  // return) and frees the duplicate communicator.
  ~MPICommExecutor() override;

  // True on the root (an executor to submit to), false on the ranks that served.
  explicit operator bool() const noexcept { return ranks_ != nullptr; }
  // The worker ranks (the communicator's size minus one on the root; 0 on the others).
  std::size_t num_workers() const noexcept;
  // This rank's serve loop's exit status, on a rank that served (0: served until the root shut down).
  int served_status() const noexcept { return served_status_; }

 private:
  struct Ranks;
  detail::remote::RemotePool& pool_for_submit() override;
  detail::remote::RemotePool* started_pool() noexcept override;

  std::unique_ptr<Ranks> ranks_;
  int served_status_ = 0;
};

}  // namespace concurrent::futures
