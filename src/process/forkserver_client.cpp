#include "process/forkserver_client.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cfutures/detail/mutex.hpp"
#include "process/forkserver.hpp"
#include "process/inheritance.hpp"
#include "process/testing.hpp"

extern char** environ;

namespace concurrent::futures::detail::process {
namespace {

constexpr int kServerFd = 3;                               // where a re-executed server finds its socket
constexpr idtype_t kWaitPidfd = static_cast<idtype_t>(3);  // P_PIDFD (Linux 5.4; glibc names it from 2.36)

int pidfd_open(pid_t pid) noexcept { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// Starts a fork server of the pool's own. Throws std::system_error.
ForkServerChannel start_fork_server() {
  // A spawned fork server whose entry did not take over runs main(), which may create a pool:
  // stop here instead of spawning another server (that recursion is a fork bomb).
  if (!fork_server_entry_linked() || std::getenv(kForkServerVariable) != nullptr) {
    static const char message[] =
        "cfutures: a fork server reached main() (its entry point did not run); refusing to "
        "start another one\n";
    (void)!::write(STDERR_FILENO, message, sizeof(message) - 1);
    ::_exit(127);
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    throw std::system_error(errno, std::generic_category(), "socketpair");
  }
  // The child's end goes to kServerFd (dup2 clears close-on-exec there); every other
  // descriptor the spawned program could inherit is closed, so the server and its workers
  // hold only stdin/out/err and their own channel.
  int child_end = sv[1];
  if (child_end == kServerFd) {
    child_end = fcntl(sv[1], F_DUPFD_CLOEXEC, kServerFd + 1);
    ::close(sv[1]);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child_end, kServerFd);
  posix_spawn_file_actions_addclosefrom_np(&actions, kServerFd + 1);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> storage;
  std::vector<char*> env;
  const std::string prefix = std::string(kForkServerVariable) + "=";
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0) env.push_back(*e);
  }
  storage.push_back(prefix + std::to_string(kServerFd));
  env.push_back(storage.back().data());
  env.push_back(nullptr);
  // The program's name as argv[0]: the server names its workers after it (an exec of
  // /proc/self/exe is named "exe").
  char name[16] = {};
  prctl(PR_GET_NAME, name);
  char* argv[] = {name, nullptr};

  pid_t pid = -1;
  const int error = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, argv, env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(child_end);
  if (error != 0) {
    ::close(sv[0]);
    throw std::system_error(error, std::generic_category(), "posix_spawn /proc/self/exe");
  }
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  return ForkServerChannel{.pid = pid, .pidfd = pidfd_open(pid), .socket = sv[0]};
}

// The early fork server, as seen from the program that started it.
struct EarlyServer {
  Mutex mutex;
  pid_t pid CF_GUARDED_BY(mutex) = -1;    // -1 once the server is found dead and reaped
  int pidfd CF_GUARDED_BY(mutex) = -1;    // likewise
  int control CF_GUARDED_BY(mutex) = -1;  // likewise
  pid_t owner CF_GUARDED_BY(mutex) = -1;  // the process that started it (a forked child may not use it)
  bool bypass CF_GUARDED_BY(mutex) = false;
  std::string fingerprint CF_GUARDED_BY(mutex);  // the program's security_fingerprint() at the fork

  // At the program's exit: the server ends when its control socket closes; waiting for it
  // means no process of ours outlives the program (PR_SET_PDEATHSIG alone ends it later).
  ~EarlyServer() {
    MutexLock lock(mutex);
    if (control < 0 || owner != getpid()) return;
    ::close(std::exchange(control, -1));
    reap_child(std::exchange(pid, -1), std::exchange(pidfd, -1));
  }
};
EarlyServer& early_server() {
  static EarlyServer early;
  return early;
}

// The number of threads of this process (field 20 of /proc/self/stat), or 0 if unknown.
long thread_count() noexcept {
  const int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[1024];
  const ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buffer[n] = '\0';
  const char* p = std::strrchr(buffer, ')');  // the name before it may hold spaces
  if (p == nullptr) return 0;
  for (int field = 2; field < 20 && p != nullptr; ++field) p = std::strchr(p + 1, ' ');
  return p != nullptr ? std::strtol(p + 1, nullptr, 10) : 0;
}

// A new channel to the early server, or -1 if the process has none it may use.
int connect_early_server() {
  EarlyServer& early = early_server();
  MutexLock lock(early.mutex);
  if (early.control < 0 || early.bypass || early.owner != getpid()) return -1;
  // Its workers would not share what the program gave up since (inheritance.hpp).
  if (security_fingerprint() != early.fingerprint) return -1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    throw std::system_error(errno, std::generic_category(), "socketpair");
  }
  Packet connect;
  connect.type = Packet::kConnect;
  const bool sent = send_packet(early.control, connect, &sv[1], 1);
  ::close(sv[1]);
  if (sent) {
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    return sv[0];
  }
  // The server is gone (killed from outside): reap it, and let this and later pools start
  // servers of their own.
  ::close(sv[0]);
  ::close(std::exchange(early.control, -1));
  reap_child(std::exchange(early.pid, -1), std::exchange(early.pidfd, -1));
  return -1;
}

}  // namespace

ForkServerChannel connect_fork_server() {
  const int channel = connect_early_server();
  if (channel >= 0) return ForkServerChannel{.socket = channel};
  return start_fork_server();
}

void outlive_early_server() noexcept { early_server(); }

int fork_early_server() noexcept {
  const char* wanted = std::getenv(kEarlyServerVariable);
  if (wanted != nullptr && std::strcmp(wanted, "0") == 0) return -1;
  if (thread_count() != 1) return -1;  // forking now could copy a lock another thread holds
  std::string fingerprint;
  try {
    fingerprint = security_fingerprint();
  } catch (...) {
    return -1;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  std::fflush(nullptr);  // or the server's workers would write what the program had buffered
  const pid_t program = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    ::close(sv[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != program) _exit(0);  // the program ended before the line above
    return sv[1];
  }
  ::close(sv[1]);
  if (pid < 0) {
    ::close(sv[0]);
    return -1;
  }
  EarlyServer& early = early_server();
  MutexLock lock(early.mutex);
  early.pid = pid;
  early.pidfd = pidfd_open(pid);
  early.control = sv[0];
  early.owner = program;
  early.fingerprint = std::move(fingerprint);
  return -1;
}

void reap_child(pid_t pid, int pidfd) noexcept {
  if (pidfd >= 0) {
    siginfo_t info;
    while (waitid(kWaitPidfd, static_cast<id_t>(pidfd), &info, WEXITED) < 0 && errno == EINTR) {
    }
    ::close(pidfd);
  } else if (pid > 0) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

bool request_spawn(int socket, std::uint32_t slot, int memfd, int doorbell) noexcept {
  Packet packet;
  packet.type = Packet::kSpawn;
  packet.slot = slot;
  const int fds[2] = {memfd, doorbell};
  return send_packet(socket, packet, fds, 2);
}

ReadStatus read_packet(int socket, Packet& packet, int* pidfd) noexcept {
  int fds[1];
  int nfds = 0;
  *pidfd = -1;
  const ssize_t n = receive_packet(socket, packet, fds, 1, nfds, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return ReadStatus::kNone;
  if (n <= 0) return ReadStatus::kClosed;
  if (nfds == 1) {
    if (packet.type == Packet::kSpawned) {
      *pidfd = fds[0];
    } else {
      ::close(fds[0]);
    }
  }
  return ReadStatus::kPacket;
}

#if CFUTURES_TEST_HOOKS
namespace testing {

EarlyForkServer early_fork_server() noexcept {
  EarlyServer& early = early_server();
  MutexLock lock(early.mutex);
  return {early.pid, early.control, early.pidfd};
}

void bypass_early_fork_server(bool bypass) noexcept {
  EarlyServer& early = early_server();
  MutexLock lock(early.mutex);
  early.bypass = bypass;
}

}  // namespace testing

#endif

}  // namespace concurrent::futures::detail::process
