// Worker ranks spawned by a manager (cf::MPIPoolExecutor's way of getting workers): the manager
// spawns copies of its own program with MPI_Comm_spawn, and a spawned copy serves instead of
// running main().
//
// How a spawned rank knows: MPI_Comm_spawn passes kWorkerFlag as its first argument. A static
// initializer of libcfutures_mpi (worker.cpp) sees it, completes the program's static
// initialization (common/program_image.hpp: the same way as the process pool's fork server),
// initializes MPI, and serves its parent; main() never runs. A process started with the flag but
// without a parent MPI job (by hand, or by mpiexec) prints why and exits with status 2.
//
// The protocol (tags on the communicator; the manager is rank 0 of a spawned rank's parent
// intercommunicator, or the root of an MPICommExecutor's communicator):
//   worker -> manager   kHello     encode_hello(): build identity, pid, host name
//   manager -> worker   kRemote+k  a pool message of kind k (detail/remote/messages.hpp): its id
//                                   (8 bytes, little-endian), then its payload; the worker answers
//                                   with kRemote+k messages of the same layout
//   worker -> manager   kExited    the worker's serve loop ended; bytes: its exit status, decimal
//   manager -> worker   kEcho      bytes: the worker sends them straight back (a liveness probe)
//   manager -> worker   kStop      the worker answers kStopped, disconnects and exits
// The manager refuses a worker whose build differs from its own (build_id.hpp).
//
// Example (the manager):
//   auto engine = Engine::acquire();
//   SpawnedWorkers workers(engine, 2, this_program(), std::chrono::seconds(30));
//   engine->send(workers.intercomm(), 0, kEcho, "ping");   // comes back on workers.inbox()
#pragma once

#include <mpi.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine.hpp"
#include "inbox.hpp"

namespace concurrent::futures::detail::mpi {

inline constexpr const char* kWorkerFlag = "--cfutures-mpi-worker";

enum Tag : int { kHello = 1, kEcho = 2, kStop = 3, kStopped = 4, kExited = 5, kRemote = 16 };

// What a worker says first.
struct Hello {
  std::string build;  // build_identity()
  long pid = 0;
  std::string host;
};
std::string encode_hello(const Hello& hello);
std::optional<Hello> decode_hello(std::string_view bytes);  // nullopt if malformed
Hello this_process_hello();

// The running program's path (what /proc/self/exe names): the command to spawn. "/proc/self/exe"
// itself cannot be passed, since the process that starts the ranks (mpiexec's daemon) would
// read its own. Throws std::runtime_error if the link cannot be read.
std::string this_program();

// The spawn info that lets the ranks share cores (OpenMPI's "map_by" = ":OVERSUBSCRIBE";
// other implementations ignore the key). The caller frees it.
MPI_Info oversubscribe_info();

// Spawns `count` ranks of `program` with kWorkerFlag (+ `extra_args`), on the engine thread, and
// returns the intercommunicator (its remote group: the workers, ranks 0..count-1). Blocks until
// every rank initialized MPI. Throws std::invalid_argument for count < 1, std::runtime_error if
// `program` cannot be executed here (OpenMPI would hang or abort the job instead) or with MPI's
// words if the spawn fails.
MPI_Comm spawn_workers(Engine& engine, int count, const std::string& program,
                       const std::vector<std::string>& extra_args = {});

// The manager's side of a set of worker ranks of one communicator (the spawned ranks of an
// intercommunicator, or the other ranks of an MPICommExecutor's communicator): listens to it,
// waits for every hello, refuses a different build, and stops the ranks (kStop, each answers
// kStopped). It never frees the communicator.
class WorkerRanks {
 public:
  // Listens to `comm` for the hellos of `ranks`.
  WorkerRanks(std::shared_ptr<Engine> engine, MPI_Comm comm, std::vector<int> ranks);
  ~WorkerRanks();
  WorkerRanks(const WorkerRanks&) = delete;
  WorkerRanks& operator=(const WorkerRanks&) = delete;

  MPI_Comm comm() const noexcept { return comm_; }
  const std::shared_ptr<Inbox>& inbox() const noexcept { return inbox_; }
  const std::vector<int>& ranks() const noexcept { return ranks_; }
  // hellos()[i] is what ranks()[i] said.
  const std::vector<Hello>& hellos() const noexcept { return hellos_; }

  // Waits for every hello. Throws std::runtime_error (different_build_message) if a worker runs
  // a different build, naming the ranks that did not say hello within `timeout`, or with MPI's
  // words for a fault on the communicator; the caller then stops the ranks.
  void await_hellos(std::chrono::milliseconds timeout);

  // Sends kStop to every worker and waits up to `timeout` for each kStopped, then stops
  // listening; returns false if some did not answer. Called by the destructor if not before.
  bool stop(std::chrono::milliseconds timeout);

 private:
  int index_of(int rank) const;

  std::shared_ptr<Engine> engine_;
  std::shared_ptr<Inbox> inbox_ = std::make_shared<Inbox>();
  MPI_Comm comm_;
  std::vector<int> ranks_;
  std::vector<Hello> hellos_;
  bool stopped_ = false;
};

// Spawned worker ranks: spawn_workers, then WorkerRanks over the intercommunicator. The
// destructor stops them and disconnects.
class SpawnedWorkers {
 public:
  // Throws what spawn_workers and WorkerRanks::await_hellos throw (the ranks are stopped first).
  SpawnedWorkers(std::shared_ptr<Engine> engine, int count, const std::string& program,
                 std::chrono::milliseconds start_timeout);
  ~SpawnedWorkers();
  SpawnedWorkers(const SpawnedWorkers&) = delete;
  SpawnedWorkers& operator=(const SpawnedWorkers&) = delete;

  MPI_Comm intercomm() const noexcept { return intercomm_; }
  Inbox& inbox() noexcept { return *ranks_->inbox(); }
  WorkerRanks& ranks() noexcept { return *ranks_; }
  const std::vector<Hello>& hellos() const noexcept { return ranks_->hellos(); }
  int size() const noexcept { return static_cast<int>(ranks_->hellos().size()); }

  // Stops the workers (WorkerRanks::stop), then disconnects (or, if some did not answer, frees
  // the intercommunicator: a disconnect would wait for them). Returns false if some did not
  // answer. Called by the destructor if not before.
  bool stop(std::chrono::milliseconds timeout);

 private:
  std::shared_ptr<Engine> engine_;
  MPI_Comm intercomm_ = MPI_COMM_NULL;
  std::unique_ptr<WorkerRanks> ranks_;
};

// The exit status of a worker rank that lost its manager (an MPI fault on the communicator).
inline constexpr int kManagerLostExit = 2;

// A worker rank's side: says hello to `manager` of `comm`, serves its calls
// (remote/serve.hpp) until the pool quits it, reports kExited, then waits for kStop and answers
// kStopped. Returns the serve loop's exit status (kManagerLostExit if the manager was lost).
int serve_manager(Engine& engine, MPI_Comm comm, int manager);

// A spawned worker rank's life after its static initialization: returns the process's exit
// status (0 once its manager released it; the serve loop's status travels in kExited).
int run_worker_rank();

}  // namespace concurrent::futures::detail::mpi
