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

#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

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

}  // namespace

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
  std::string name = "cfutures-fork-server";
  char* argv[] = {name.data(), nullptr};

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

[[noreturn]] void fork_server_main(int socket) {
  const pid_t self = getpid();
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigset_t old_mask;
  sigprocmask(SIG_BLOCK, &chld, &old_mask);
  const int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  std::set<pid_t> children;

  auto reap = [&] {
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      children.erase(pid);
      Packet exited;
      exited.type = Packet::kExited;
      exited.pid = pid;
      exited.value = status;
      send_packet(socket, exited, nullptr, 0);
    }
  };
  auto stop = [&]() {
    for (pid_t pid : children) kill(pid, SIGKILL);
    for (pid_t pid : children) waitpid(pid, nullptr, 0);
    _exit(0);
  };

  for (;;) {
    pollfd fds[2] = {{socket, POLLIN, 0}, {sigfd, POLLIN, 0}};
    if (poll(fds, sigfd >= 0 ? 2 : 1, sigfd >= 0 ? -1 : 100) < 0 && errno != EINTR) stop();
    if (sigfd >= 0 && (fds[1].revents & POLLIN) != 0) {
      signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) > 0) {
      }
    }
    reap();
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;

    Packet request;
    int received[2];
    int nfds = 0;
    const ssize_t n = receive_packet(socket, request, received, 2, nfds, 0);
    if (n <= 0) stop();  // the pool is gone (or spoke nonsense): end everything
    if (request.type != Packet::kSpawn || nfds != 2) {
      for (int i = 0; i < nfds; ++i) ::close(received[i]);
      stop();
    }
    Packet reply;
    reply.slot = request.slot;
    pid_t pid = -1;
    int fork_error = EAGAIN;  // what a simulated failure reports
    if (request.value != 1) {
      pid = fork();
      fork_error = errno;
    }
    if (pid == 0) {
      // The worker: default signal mask, none of the server's descriptors but its own two.
      sigprocmask(SIG_SETMASK, &old_mask, nullptr);
      ::close(socket);
      if (sigfd >= 0) ::close(sigfd);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != self) _exit(0);  // the server died before the line above
      worker_main(received[0], received[1], self);
    }
    ::close(received[0]);
    if (pid < 0) {
      reply.type = Packet::kSpawnFailed;
      reply.value = fork_error;
      ::close(received[1]);
      if (!send_packet(socket, reply, nullptr, 0)) stop();
      continue;
    }
    ::close(received[1]);
    children.insert(pid);
    reply.type = Packet::kSpawned;
    reply.pid = pid;
    const int pidfd = pidfd_open(pid);
    const bool sent = send_packet(socket, reply, &pidfd, pidfd >= 0 ? 1 : 0);
    if (pidfd >= 0) ::close(pidfd);
    if (!sent) stop();
  }
}

}  // namespace concurrent::futures::detail::process
