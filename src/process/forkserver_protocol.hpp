// The fork server's protocol: a single-threaded helper process forks the workers.
//
// Forking a multi-threaded program and running C++ in the child can deadlock (a lock held by
// another thread at the fork stays held forever), so workers are forked from a helper that
// never runs a second thread. A process gets its helper one of two ways:
//
//  - The early fork server (shared by every pool of the process): while the program is still
//    single-threaded, during static initialization, libcfutures forks it (entry.cpp). A new pool
//    then costs one socketpair and one message, not an exec. Set CFUTURES_EARLY_FORK_SERVER=0 to
//    turn it off; it is not started if another thread already runs at that point.
//  - A fork server of the pool's own, for a pool in a process without a usable early server
//    (turned off, already multi-threaded at static initialization, a forked child of the
//    program that started it, the early server died, or libcfutures is a shared library, which
//    forks no early server): the pool starts it with
//    posix_spawn("/proc/self/exe") and an environment variable naming the inherited socket.
//
// Either way the server has completed the program's static initialization and never runs main().
// Each pool talks to it over its own SOCK_SEQPACKET socketpair (its channel):
//
//   pool -> server   kSpawn {slot}            + SCM_RIGHTS [region memfd, doorbell eventfd]
//   server -> pool   kSpawned {slot, pid}     + SCM_RIGHTS [pidfd]
//                    kSpawnFailed {slot, errno}
//                    kExited {pid, wait status}
//
// and a pool reaches the early server by sending kConnect + SCM_RIGHTS [channel end] over the
// server's control socket. The server reaps its children and reports each exit on the channel
// of the pool that asked for it. When a channel closes (the pool shut down, or spoke nonsense)
// the server kills that pool's children left; when the control socket closes (the program ended)
// or, for a pool's own server, its one channel closes, it kills every child left and exits.
// Workers have PR_SET_PDEATHSIG = SIGKILL, so they die with it; so does the early server with
// the program.
//
//   server kind       started                 ends                       reaped by
//   early (shared)    static initialization   control socket closed      the program (on death)
//   the pool's own    the pool's start        its one channel closed     the pool
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace concurrent::futures::detail::process {

inline constexpr const char* kForkServerVariable = "CFUTURES_FORK_SERVER_FD";      // set by the pool
inline constexpr const char* kEarlyServerVariable = "CFUTURES_EARLY_FORK_SERVER";  // "0": none
inline constexpr const char* kServerName = "cf-forkserver";                        // its name in ps and /proc

struct Packet {
  enum Type : std::uint32_t { kSpawn = 1, kSpawned = 2, kSpawnFailed = 3, kExited = 4, kConnect = 5 };
  std::uint32_t type = 0;
  std::uint32_t slot = 0;
  std::int32_t pid = 0;
  std::int32_t value = 0;  // kSpawnFailed: errno; kExited: the wait status
};

// Sends a packet with up to two descriptors (waiting while the socket is full). False if the
// peer is gone.
bool send_packet(int socket, const Packet& packet, const int* fds, int nfds) noexcept;
// Receives a packet and up to `max_fds` descriptors (close-on-exec; more are closed). Returns
// the byte count, 0 at end of stream, -1 with errno (EPROTO for a truncated packet).
ssize_t receive_packet(int socket, Packet& packet, int* fds, int max_fds, int& nfds, int flags) noexcept;

}  // namespace concurrent::futures::detail::process
