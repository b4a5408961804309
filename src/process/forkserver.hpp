// The fork server itself (forkserver_protocol.hpp): the single-threaded helper process that
// forks a pool's workers, reaps them and reports their exits. It runs in the early server forked
// during static initialization, or in a server a pool re-executed for itself, and never returns
// to the program.
//
//   event                                  what the server does
//   kSpawn on a channel (+ memfd, eventfd) fork a worker: kSpawned {pid} + pidfd, or kSpawnFailed {errno}
//   a child exits (SIGCHLD)                reap it; kExited {pid, status} on its pool's channel
//                                          (SIGCHLD is the default in the server, whatever the
//                                          program set: ignored, it would reap them unseen)
//   a channel closes or speaks nonsense    SIGKILL that pool's workers, forget the channel
//   kConnect on the control socket         a new channel (the early server only)
//   the control socket, or a pool's own server's one channel, closes
//                                          SIGKILL every worker, reap them, exit
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <map>
#include <vector>

#include "process/forkserver_protocol.hpp"

namespace concurrent::futures::detail::process {

class ForkServer {
 public:
  // How the server forks (::fork; a test gives one that fails).
  using ForkFunction = pid_t (*)();

  // With `control` >= 0, the early server, which takes new channels from it; else a pool's own
  // server with its one `channel`.
  ForkServer(int control, int channel, ForkFunction fork_function = &::fork);
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;

  // Serves until the program (or the pool) is gone, then exits the process.
  [[noreturn]] void run();

 private:
  void read_channel(int channel);
  void read_control();
  bool spawn(int channel, const Packet& request, const int (&fds)[2]);
  [[noreturn]] void become_worker(const int (&fds)[2]);
  void reap();
  void forget(int channel);
  [[noreturn]] void stop();

  const pid_t self_;
  const ForkFunction fork_;
  int control_;
  int sigfd_ = -1;
  std::vector<int> channels_;
  std::map<pid_t, int> children_;  // pid -> the channel of the pool it works for (-1: closed)
  struct sigaction old_interrupt_ {};
  struct sigaction old_child_ {};  // the program's SIGCHLD, for the workers
  sigset_t old_mask_{};
  char program_name_[16] = {};
};

// The server's entry, before main(): see ForkServer(control, channel).
[[noreturn]] void fork_server_main(int control, int channel);

// Defined next to the static initializer that starts the server (entry.cpp); calling it
// makes the linker keep that object wherever the pool is used.
bool fork_server_entry_linked() noexcept;

// What this process is, as the fork server's entry (entry.cpp) decided:
//   kStarting  the entry has not run yet: static initialization of the program's own objects
//              (where libcfutures is a static library, its entry runs after them). A pool
//              created now (a namespace-scope or static pool) starts its workers at its first
//              use instead, once the early fork server exists; a call before the entry ran is
//              refused.
//   kProgram   the program: the entry ran and returned. Also a worker (set by the server that
//              forks it): a task may create a pool.
//   kServer    a fork server, completing the program's static initialization: a pool created
//              there (the program's global pools) never starts.
enum class ProcessRole { kStarting, kProgram, kServer };
ProcessRole process_role() noexcept;
void set_process_role(ProcessRole role) noexcept;

}  // namespace concurrent::futures::detail::process
