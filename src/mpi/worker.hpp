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
// Start-up protocol (tags on the intercommunicator; the manager is its remote rank 0):
//   worker -> manager   kHello    encode_hello(): build identity, pid, host name
//   manager -> worker   kEcho     bytes: the worker sends them back, with kEcho
//   manager -> worker   kStop     the worker answers kStopped, disconnects and exits
// The manager refuses a worker whose build differs from its own (build_id.hpp). kEcho is the
// placeholder serve loop that the executor's own serve loop will replace; kHello and kStop are
// the start-up and shutdown handshakes it keeps.
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

enum Tag : int { kHello = 1, kEcho = 2, kStop = 3, kStopped = 4 };

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

// The manager's side of spawned workers: spawns them, waits for every hello, and refuses a
// different build. The destructor stops them (kStop, each answers kStopped) and disconnects.
class SpawnedWorkers {
 public:
  // Throws what spawn_workers throws; std::runtime_error (different_build_message) if a worker
  // runs a different build, or naming the ranks that did not say hello within `start_timeout`
  // (the workers are stopped first).
  SpawnedWorkers(std::shared_ptr<Engine> engine, int count, const std::string& program,
                 std::chrono::milliseconds start_timeout);
  ~SpawnedWorkers();
  SpawnedWorkers(const SpawnedWorkers&) = delete;
  SpawnedWorkers& operator=(const SpawnedWorkers&) = delete;

  MPI_Comm intercomm() const noexcept { return intercomm_; }
  Inbox& inbox() noexcept { return *inbox_; }
  const std::vector<Hello>& hellos() const noexcept { return hellos_; }
  int size() const noexcept { return static_cast<int>(hellos_.size()); }

  // Sends kStop to every worker, waits up to `timeout` for each kStopped, then disconnects (or,
  // if some did not answer, frees the intercommunicator: a disconnect would wait for them).
  // Returns false if some did not answer. Called by the destructor if not before.
  bool stop(std::chrono::milliseconds timeout);

 private:
  void collect_hellos(int count, std::chrono::milliseconds timeout);

  std::shared_ptr<Engine> engine_;
  std::shared_ptr<Inbox> inbox_ = std::make_shared<Inbox>();
  MPI_Comm intercomm_ = MPI_COMM_NULL;
  std::vector<Hello> hellos_;
};

// A spawned worker rank's life after its static initialization: returns its exit status.
int run_worker_rank();

}  // namespace concurrent::futures::detail::mpi
