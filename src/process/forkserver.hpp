// The fork server: a single-threaded helper process that forks the workers.
//
// The pool starts it with posix_spawn("/proc/self/exe") (a clean exec of the same program,
// safe however many threads the pool's process runs) and an environment variable naming the
// inherited socket; a static initializer in libcfutures (entry.cpp) sees the variable,
// finishes the program's static initialization, and runs forkserver_main() instead of
// main(). The pool and the server talk over a SOCK_SEQPACKET socketpair:
//
//   pool -> server   kSpawn {slot}            + SCM_RIGHTS [region memfd, doorbell eventfd]
//   server -> pool   kSpawned {slot, pid}     + SCM_RIGHTS [pidfd]
//                    kSpawnFailed {slot, errno}
//                    kExited {pid, wait status}
//
// The server reaps its children and reports each exit. When the pool's end closes (the pool
// shut down, or its process died) it kills any child left and exits; workers have
// PR_SET_PDEATHSIG = SIGKILL, so they die with it.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace concurrent::futures::detail::process {

inline constexpr const char* kForkServerVariable = "CFUTURES_FORK_SERVER_FD";

struct Packet {
  enum Type : std::uint32_t { kSpawn = 1, kSpawned = 2, kSpawnFailed = 3, kExited = 4 };
  std::uint32_t type = 0;
  std::uint32_t slot = 0;
  std::int32_t pid = 0;
  std::int32_t value = 0;  // kSpawn: 1 to simulate a failed fork (tests); kSpawnFailed: errno;
                           // kExited: the wait status
};

struct ForkServer {
  pid_t pid = -1;
  int socket = -1;  // the pool's end (close-on-exec, non-blocking)
};

// Starts a fork server. Throws std::system_error.
ForkServer start_fork_server();

// Asks the server for a worker on `memfd` (both descriptors are duplicated into the worker).
// Returns false if the server is gone.
bool request_spawn(int socket, std::uint32_t slot, int memfd, int doorbell, bool simulate_failure) noexcept;

enum class ReadStatus { kPacket, kNone, kClosed };
// Reads one packet without blocking. For kSpawned, *pidfd receives the worker's pidfd
// (close-on-exec), or -1.
ReadStatus read_packet(int socket, Packet& packet, int* pidfd) noexcept;

// The server's loop (in the re-executed program, before main()).
[[noreturn]] void fork_server_main(int socket);

// Defined next to the static initializer that starts the server (entry.cpp); calling it
// makes the linker keep that object wherever the pool is used.
bool fork_server_entry_linked() noexcept;

}  // namespace concurrent::futures::detail::process
