#include "forkserver.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cfutures/detail/mutex.hpp"
#include "cfutures/detail/process/testing.hpp"
#include "inheritance.hpp"
#include "worker.hpp"

extern char** environ;

namespace concurrent::futures::detail::process {
namespace {

constexpr int kServerFd = 3;  // where the server finds its socket

int pidfd_open(pid_t pid) noexcept { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

bool send_packet(int socket, const Packet& packet, const int* fds, int nfds) noexcept {
  iovec iov{const_cast<Packet*>(&packet), sizeof packet};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  if (nfds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  for (;;) {
    const ssize_t n = sendmsg(socket, &msg, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(sizeof packet)) return true;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {  // the peer is slow to read: wait for room
      pollfd p{socket, POLLOUT, 0};
      poll(&p, 1, -1);
      continue;
    }
    return false;
  }
}

// Receives a packet and up to `max_fds` descriptors (close-on-exec). Returns the byte count,
// 0 at end of stream, -1 with errno.
ssize_t receive_packet(int socket, Packet& packet, int* fds, int max_fds, int& nfds, int flags) noexcept {
  iovec iov{&packet, sizeof packet};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  nfds = 0;
  ssize_t n;
  do {
    n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | flags);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const int count = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (nfds < max_fds) {
        fds[nfds++] = fd;
      } else {
        ::close(fd);
      }
    }
  }
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || n != static_cast<ssize_t>(sizeof packet)) {
    for (int i = 0; i < nfds; ++i) ::close(fds[i]);
    nfds = 0;
    errno = EPROTO;
    return -1;
  }
  return n;
}

// Starts a fork server of the pool's own. Throws std::system_error.
ForkServer start_fork_server() {
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
  return ForkServer{pid, sv[0]};
}

// The early fork server, as seen from the program that started it.
struct EarlyServer {
  Mutex mutex;
  pid_t pid CF_GUARDED_BY(mutex) = -1;    // -1 once the server is found dead and reaped
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
    waitpid(std::exchange(pid, -1), nullptr, 0);
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
  waitpid(std::exchange(early.pid, -1), nullptr, 0);
  return -1;
}

}  // namespace

ForkServer connect_fork_server() {
  const int channel = connect_early_server();
  if (channel >= 0) return ForkServer{-1, channel};
  return start_fork_server();
}

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
  early.control = sv[0];
  early.owner = program;
  early.fingerprint = std::move(fingerprint);
  return -1;
}

bool request_spawn(int socket, std::uint32_t slot, int memfd, int doorbell, bool simulate_failure) noexcept {
  Packet packet;
  packet.type = Packet::kSpawn;
  packet.slot = slot;
  packet.value = simulate_failure ? 1 : 0;
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

[[noreturn]] void fork_server_main(int control, int channel) {
  const pid_t self = getpid();
  // Ctrl-C reaches the whole process group: the program decides what it means, and the
  // server must outlive it if the program goes on (Python's forkserver ignores it too).
  struct sigaction ignore {
  }, old_interrupt{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &old_interrupt);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigset_t old_mask;
  sigprocmask(SIG_BLOCK, &chld, &old_mask);
  const int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  char program_name[16] = {};
  prctl(PR_GET_NAME, program_name);
  prctl(PR_SET_NAME, kServerName);

  std::vector<int> channels;
  if (channel >= 0) channels.push_back(channel);
  std::map<pid_t, int> children;  // pid -> the channel of the pool it works for (-1: closed)

  auto forget = [&](int gone) {  // the pool is gone: so are its workers
    for (auto& [pid, owner] : children) {
      if (owner == gone) {
        kill(pid, SIGKILL);
        owner = -1;
      }
    }
    channels.erase(std::find(channels.begin(), channels.end(), gone));
    ::close(gone);
  };
  auto stop = [&]() {
    for (const auto& entry : children) kill(entry.first, SIGKILL);
    for (const auto& entry : children) waitpid(entry.first, nullptr, 0);
    _exit(0);
  };
  auto reap = [&] {
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      const auto it = children.find(pid);
      if (it == children.end()) continue;
      const int owner = it->second;
      children.erase(it);
      if (owner < 0) continue;
      Packet exited;
      exited.type = Packet::kExited;
      exited.pid = pid;
      exited.value = status;
      if (!send_packet(owner, exited, nullptr, 0)) forget(owner);
    }
  };
  // Forks a worker for the pool on `owner`; false if the pool cannot be told.
  auto spawn = [&](int owner, const Packet& request, const int(&fds)[2]) {
    Packet reply;
    reply.slot = request.slot;
    pid_t pid = -1;
    int fork_error = EAGAIN;  // what a simulated failure reports
    if (request.value != 1) {
      pid = fork();
      fork_error = errno;
    }
    if (pid == 0) {
      // The worker: the program's signal state and name, none of the server's descriptors
      // but its own two.
      sigaction(SIGINT, &old_interrupt, nullptr);
      sigprocmask(SIG_SETMASK, &old_mask, nullptr);
      prctl(PR_SET_NAME, program_name);
      if (control >= 0) ::close(control);
      for (int c : channels) ::close(c);
      if (sigfd >= 0) ::close(sigfd);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != self) _exit(0);  // the server died before the line above
      worker_main(fds[0], fds[1], self);
    }
    ::close(fds[0]);
    ::close(fds[1]);
    if (pid < 0) {
      reply.type = Packet::kSpawnFailed;
      reply.value = fork_error;
      return send_packet(owner, reply, nullptr, 0);
    }
    children[pid] = owner;
    reply.type = Packet::kSpawned;
    reply.pid = pid;
    const int pidfd = pidfd_open(pid);
    const bool sent = send_packet(owner, reply, &pidfd, pidfd >= 0 ? 1 : 0);
    if (pidfd >= 0) ::close(pidfd);
    return sent;
  };

  std::vector<pollfd> fds;
  for (;;) {
    if (control < 0 && channels.empty()) stop();
    fds.clear();
    fds.push_back({sigfd, POLLIN, 0});
    fds.push_back({control, POLLIN, 0});  // poll skips a negative descriptor
    for (int c : channels) fds.push_back({c, POLLIN, 0});
    if (poll(fds.data(), fds.size(), sigfd >= 0 ? -1 : 100) < 0 && errno != EINTR) stop();
    if (sigfd >= 0 && (fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) > 0) {
      }
    }
    reap();

    // Channels before the control socket: a channel closed in this pass may lend its number to
    // one that arrives in it, and the poll results above are the old channel's.
    constexpr short kReadable = POLLIN | POLLHUP | POLLERR;
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if ((fds[i].revents & kReadable) == 0) continue;
      const int owner = fds[i].fd;
      if (std::find(channels.begin(), channels.end(), owner) == channels.end()) continue;  // forgotten
      Packet request;
      int received[2];
      int nfds = 0;
      const ssize_t n = receive_packet(owner, request, received, 2, nfds, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n > 0 && request.type == Packet::kSpawn && nfds == 2) {
        if (!spawn(owner, request, received)) forget(owner);
        continue;
      }
      for (int k = 0; k < nfds; ++k) ::close(received[k]);
      forget(owner);  // the pool is gone, or spoke nonsense
    }
    if (control >= 0 && (fds[1].revents & kReadable) != 0) {
      Packet request;
      int received[1];
      int nfds = 0;
      const ssize_t n = receive_packet(control, request, received, 1, nfds, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n <= 0) stop();  // the program ended
      if (request.type == Packet::kConnect && nfds == 1) {
        channels.push_back(received[0]);
      } else if (nfds == 1) {
        ::close(received[0]);
      }
    }
  }
}

namespace testing {

EarlyForkServer early_fork_server() noexcept {
  EarlyServer& early = early_server();
  MutexLock lock(early.mutex);
  return {early.pid, early.control};
}

void bypass_early_fork_server(bool bypass) noexcept {
  EarlyServer& early = early_server();
  MutexLock lock(early.mutex);
  early.bypass = bypass;
}

}  // namespace testing

}  // namespace concurrent::futures::detail::process
