// The program's side of the fork server (forkserver_protocol.hpp): the early server forked
// during static initialization and shared by the process's pools, a server of a pool's own where
// the early one cannot be used, and the requests a pool makes on its channel.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "process/forkserver_protocol.hpp"

namespace concurrent::futures::detail::process {

// A pool's channel to its fork server.
struct ForkServerChannel {
  pid_t pid = -1;   // a server of the pool's own, which the pool reaps; -1 for the early server
  int pidfd = -1;   // its pidfd, or -1
  int socket = -1;  // the pool's end of its channel (close-on-exec, non-blocking)
};

// A channel to the early fork server if the process has one it may use, else a new server of
// the pool's own. Throws std::system_error.
ForkServerChannel connect_fork_server();

// Makes the program's record of the early fork server now, if it is not made yet: a static
// object (a namespace-scope pool) that calls this in its constructor is destroyed before the
// record, whose destructor ends the early server and its workers at the program's exit.
void outlive_early_server() noexcept;

// Called once during static initialization: forks the early fork server if it is wanted and
// the program is single-threaded. Returns, in the forked server, its control socket (for
// fork_server_main); in the program, -1.
int fork_early_server() noexcept;

// Waits for a child process (a fork server) to end and reaps it, unless the program reaped it
// first (its own SIGCHLD handler calling waitpid(-1), or SIGCHLD ignored): through its pidfd, a
// pid reused since cannot be taken for it. Closes the pidfd.
void reap_child(pid_t pid, int pidfd) noexcept;

// Asks the server for a worker on `memfd` (both descriptors are duplicated into the worker).
// Returns false if the server is gone.
bool request_spawn(int socket, std::uint32_t slot, int memfd, int doorbell) noexcept;

enum class ReadStatus { kPacket, kNone, kClosed };
// Reads one packet without blocking. For kSpawned, *pidfd receives the worker's pidfd
// (close-on-exec), or -1.
ReadStatus read_packet(int socket, Packet& packet, int* pidfd) noexcept;

}  // namespace concurrent::futures::detail::process
