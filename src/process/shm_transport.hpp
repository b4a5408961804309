// The process pool's transport (remote/transport.hpp): workers forked by a fork server
// (forkserver.hpp), and for each worker a shared-memory region of two rings of framed messages
// (shm.hpp, wire.hpp), so a call crosses with one copy in and at most one wake-up each way.
//
// Threads: start(), send() and kill() run under the pool's lock, in any thread (a submit writes
// its call straight into the worker's ring); poll() and what it reports run on the pool's
// manager thread, which spins for a while after each event, then sleeps in poll(2) on an
// eventfd that workers and wake() ring, and on the fork server's socket.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cfutures/detail/spin_lock.hpp"
#include "cfutures/detail/thread_annotations.hpp"
#include "process/forkserver_client.hpp"
#include "process/shm.hpp"
#include "process/wire.hpp"
#include "remote/transport.hpp"

namespace concurrent::futures::detail::process {

class ShmTransport final : public remote::Transport {
 public:
  // Connects to a fork server (the early one, or a new one of the pool's own). Throws
  // std::system_error if neither can be had.
  ShmTransport();
  ~ShmTransport() override;

  void start(remote::WorkerId worker) override;
  remote::SendStatus send(remote::WorkerId worker, remote::Kind kind, std::uint64_t id, std::string_view payload,
                          remote::SendProgress& progress) override;
  void kill(remote::WorkerId worker, int signal) override;
  void forget(remote::WorkerId worker) override;
  void poll(remote::TransportEvents& events, std::optional<std::chrono::steady_clock::time_point> deadline) override;
  void wake() noexcept override;
  bool sends_from_any_thread() const noexcept override { return true; }
  void close() noexcept override;

 private:
  struct Channel;

  Channel* find_locked(remote::WorkerId worker) CF_REQUIRES(lock_);
  void refresh_snapshot();
  bool has_work() const noexcept;
  void sleep(std::optional<std::chrono::steady_clock::time_point> deadline);
  bool drain(Channel& channel, remote::TransportEvents& events);
  bool report_space(remote::TransportEvents& events);
  bool read_server(remote::TransportEvents& events);
  void on_spawned(const Packet& packet, int pidfd, remote::TransportEvents& events);
  void on_exited(pid_t pid, int status, remote::TransportEvents& events);
  void on_server_gone(remote::TransportEvents& events);
  bool watch_pidfds(remote::TransportEvents& events);
  bool report_failed_spawns(remote::TransportEvents& events);
  void end(Channel& channel, const remote::WorkerEnd& how, remote::TransportEvents& events);
  void reap_server() noexcept;

  mutable SpinLock lock_;
  std::vector<std::unique_ptr<Channel>> channels_ CF_GUARDED_BY(lock_);
  std::vector<std::unique_ptr<Channel>> forgotten_ CF_GUARDED_BY(lock_);  // freed by the next poll()
  // The socket is written only by the poll thread, under lock_ (once the pool runs).
  ForkServerChannel server_;
  int doorbell_ = -1;                         // eventfd: workers and wake() ring the sleeping manager thread
  std::atomic<std::uint64_t> generation_{0};  // bumped whenever channels_ changes
  std::atomic<std::uint64_t> kicks_{0};
  std::atomic<bool> thread_sleeping_{false};

  // The poll thread's own:
  std::vector<Channel*> snapshot_;
  std::uint64_t snapshot_generation_ = ~std::uint64_t{0};
  std::uint64_t seen_kicks_ = 0;
};

}  // namespace concurrent::futures::detail::process
