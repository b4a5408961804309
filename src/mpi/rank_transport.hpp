// The MPI executors' Transport (remote/transport.hpp): a RemotePool's workers are MPI ranks of
// one communicator (spawned ranks, or the other ranks of an MPICommExecutor's communicator),
// each already running serve_manager (worker.hpp) when the pool starts. A pool message of kind k
// travels with the tag kRemote + k as its id (8 bytes, little-endian) and then its payload.
//
// A worker's life here: start(w) binds the next unused rank to w (a rank serves one worker's
// life, so a pool never starts more workers than it has ranks); the rank's kExited is its exit;
// an MPI fault on the communicator, or (for a rank on this host) its process disappearing, is
// its death ("pid 1234 of rank 2 on host node1 is gone"). kill() signals the process of a rank
// on this host where that is safe (spawned by a program that mpiexec did not start: under
// mpiexec a rank's death ends the whole job, docs/mpi.md); any other rank cannot be signalled,
// so it is reported as ended at once and left alone (it gets kStop when the executor ends).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cfutures/detail/spin_lock.hpp"
#include "cfutures/detail/thread_annotations.hpp"
#include "engine.hpp"
#include "inbox.hpp"
#include "remote/transport.hpp"
#include "worker.hpp"

namespace concurrent::futures::detail::mpi {

// The tag of a pool message of `kind`.
int remote_tag(remote::Kind kind) noexcept;
// id, then payload.
std::string encode_remote(std::uint64_t id, std::string_view payload);
// Splits what arrived with `tag` (> kRemote) into its kind, id and payload (moved out of
// `bytes`); false if it is too short to hold an id.
bool decode_remote(int tag, std::string& bytes, remote::Kind& kind, std::uint64_t& id, std::string& payload);

class RankTransport final : public remote::Transport {
 public:
  // `ranks` said hello through WorkerRanks first; the transport takes over its inbox (the
  // caller keeps `ranks` alive, and stops it only after the pool has ended). `may_signal`: kill()
  // may signal the processes of ranks on this host.
  RankTransport(std::shared_ptr<Engine> engine, WorkerRanks& ranks, bool may_signal);

  void start(remote::WorkerId worker) override;
  remote::SendStatus send(remote::WorkerId worker, remote::Kind kind, std::uint64_t id, std::string_view payload,
                          remote::SendProgress& progress) override;
  void kill(remote::WorkerId worker, int signal) override;
  void forget(remote::WorkerId worker) override;
  void poll(remote::TransportEvents& events, std::optional<std::chrono::steady_clock::time_point> deadline) override;
  void wake() noexcept override { inbox_->wake(); }
  bool sends_from_any_thread() const noexcept override { return true; }
  void close() noexcept override {}

 private:
  struct Slot {  // one rank
    int rank = -1;
    long pid = 0;
    std::string host;
    bool local = false;  // on this host: its pid can be watched and signalled
    std::optional<remote::WorkerId> worker;
    bool started_reported = false;
    bool ended = false;
    std::string end_pending;  // why it ended, to report at the next poll (kill() of a remote rank)
  };

  Slot* slot_of_worker(remote::WorkerId worker) CF_REQUIRES(lock_);
  Slot* slot_of_rank(int rank) CF_REQUIRES(lock_);
  void deliver(remote::TransportEvents& events, Delivery& d);
  void report_ended(remote::TransportEvents& events, Slot& slot, const remote::WorkerEnd& end);
  void report_pending(remote::TransportEvents& events);
  void watch_processes(remote::TransportEvents& events);
  std::string describe(const Slot& slot) const;

  const std::shared_ptr<Engine> engine_;
  const MPI_Comm comm_;
  const std::shared_ptr<Inbox> inbox_;
  const bool may_signal_;

  SpinLock lock_;
  std::vector<Slot> slots_ CF_GUARDED_BY(lock_);
  std::size_t next_unused_ CF_GUARDED_BY(lock_) = 0;

  std::vector<Delivery> got_;  // poll()'s thread only
  std::chrono::steady_clock::time_point next_watch_{};
};

}  // namespace concurrent::futures::detail::mpi
