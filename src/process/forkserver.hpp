// The fork server: a single-threaded helper process that forks the workers.
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
//    program that started it, or the early server died): the pool starts it with
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
//   the pool's own    the pool's constructor  its one channel closed     the pool
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
  std::int32_t value = 0;  // kSpawn: 1 to simulate a failed fork (tests); kSpawnFailed: errno;
                           // kExited: the wait status
};

struct ForkServer {
  pid_t pid = -1;   // a server of the pool's own, which the pool reaps; -1 for the early server
  int socket = -1;  // the pool's end of its channel (close-on-exec, non-blocking)
};

// A channel to the early fork server if the process has one, else a new server of the pool's
// own. Throws std::system_error.
ForkServer connect_fork_server();

// Called once during static initialization: forks the early fork server if it is wanted and
// the program is single-threaded. Returns, in the forked server, its control socket (for
// fork_server_main); in the program, -1.
int fork_early_server() noexcept;

// Asks the server for a worker on `memfd` (both descriptors are duplicated into the worker).
// Returns false if the server is gone.
bool request_spawn(int socket, std::uint32_t slot, int memfd, int doorbell, bool simulate_failure) noexcept;

enum class ReadStatus { kPacket, kNone, kClosed };
// Reads one packet without blocking. For kSpawned, *pidfd receives the worker's pidfd
// (close-on-exec), or -1.
ReadStatus read_packet(int socket, Packet& packet, int* pidfd) noexcept;

// The server's loop, before main(): with `control` >= 0 the early server, which takes new
// channels from it; else a pool's own server, with its one `channel`.
[[noreturn]] void fork_server_main(int control, int channel);

// Defined next to the static initializer that starts the server (entry.cpp); calling it
// makes the linker keep that object wherever the pool is used.
bool fork_server_entry_linked() noexcept;

}  // namespace concurrent::futures::detail::process
