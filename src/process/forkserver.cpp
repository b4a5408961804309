#include "process/forkserver.hpp"

#include <errno.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "process/worker.hpp"

namespace concurrent::futures::detail::process {

namespace {

int pidfd_open(pid_t pid) noexcept { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

constexpr short kReadable = POLLIN | POLLHUP | POLLERR;

}  // namespace

ForkServer::ForkServer(int control, int channel, ForkFunction fork_function)
    : self_(getpid()), fork_(fork_function), control_(control) {
  // Ctrl-C reaches the whole process group: the program decides what it means, and the
  // server must outlive it if the program goes on (Python's forkserver ignores it too).
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &old_interrupt_);
  // The server learns of its children's deaths from SIGCHLD and their statuses from waitpid: a
  // program that ignores SIGCHLD or sets SA_NOCLDWAIT (which a server of the pool's own, spawned
  // by it, or the early server forked after a static initializer set it, inherits) would have
  // them reaped unseen, and the pool would wait for their exits forever.
  struct sigaction child_default {};
  child_default.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &child_default, &old_child_);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old_mask_);
  sigfd_ = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  prctl(PR_GET_NAME, program_name_);
  prctl(PR_SET_NAME, kServerName);
  if (channel >= 0) channels_.push_back(channel);
}

void ForkServer::run() {
  std::vector<pollfd> fds;
  for (;;) {
    if (control_ < 0 && channels_.empty()) stop();
    fds.clear();
    fds.push_back({sigfd_, POLLIN, 0});
    fds.push_back({control_, POLLIN, 0});  // poll skips a negative descriptor
    for (int c : channels_) fds.push_back({c, POLLIN, 0});
    if (poll(fds.data(), fds.size(), sigfd_ >= 0 ? -1 : 100) < 0 && errno != EINTR) stop();
    if (sigfd_ >= 0 && (fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info;
      while (read(sigfd_, &info, sizeof info) > 0) {
      }
    }
    reap();
    // Channels before the control socket: a channel closed in this pass may lend its number to
    // one that arrives in it, and the poll results above are the old channel's.
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if ((fds[i].revents & kReadable) != 0) read_channel(fds[i].fd);
    }
    if (control_ >= 0 && (fds[1].revents & kReadable) != 0) read_control();
  }
}

void ForkServer::read_channel(int channel) {
  if (std::find(channels_.begin(), channels_.end(), channel) == channels_.end()) return;  // forgotten
  Packet request;
  int received[2];
  int nfds = 0;
  const ssize_t n = receive_packet(channel, request, received, 2, nfds, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n > 0 && request.type == Packet::kSpawn && nfds == 2) {
    if (!spawn(channel, request, received)) forget(channel);
    return;
  }
  for (int k = 0; k < nfds; ++k) ::close(received[k]);
  forget(channel);  // the pool is gone, or spoke nonsense
}

void ForkServer::read_control() {
  Packet request;
  int received[1];
  int nfds = 0;
  const ssize_t n = receive_packet(control_, request, received, 1, nfds, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) stop();  // the program ended
  if (request.type == Packet::kConnect && nfds == 1) {
    channels_.push_back(received[0]);
  } else if (nfds == 1) {
    ::close(received[0]);
  }
}

// Forks a worker for the pool on `channel`; false if the pool cannot be told.
bool ForkServer::spawn(int channel, const Packet& request, const int (&fds)[2]) {
  const pid_t pid = fork_();
  const int fork_error = errno;
  if (pid == 0) become_worker(fds);
  ::close(fds[0]);
  ::close(fds[1]);
  Packet reply;
  reply.slot = request.slot;
  if (pid < 0) {
    reply.type = Packet::kSpawnFailed;
    reply.value = fork_error;
    return send_packet(channel, reply, nullptr, 0);
  }
  children_[pid] = channel;
  reply.type = Packet::kSpawned;
  reply.pid = pid;
  const int pidfd = pidfd_open(pid);
  const bool sent = send_packet(channel, reply, &pidfd, pidfd >= 0 ? 1 : 0);
  if (pidfd >= 0) ::close(pidfd);
  return sent;
}

// The forked worker: the program's signal state and name, none of the server's descriptors
// but its own two.
void ForkServer::become_worker(const int (&fds)[2]) {
  sigaction(SIGINT, &old_interrupt_, nullptr);
  sigaction(SIGCHLD, &old_child_, nullptr);
  sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  prctl(PR_SET_NAME, program_name_);
  set_process_role(ProcessRole::kProgram);
  if (control_ >= 0) ::close(control_);
  for (int c : channels_) ::close(c);
  if (sigfd_ >= 0) ::close(sigfd_);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != self_) _exit(0);  // the server died before the line above
  worker_main(fds[0], fds[1], self_);
}

void ForkServer::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    const auto it = children_.find(pid);
    if (it == children_.end()) continue;
    const int owner = it->second;
    children_.erase(it);
    if (owner < 0) continue;
    Packet exited;
    exited.type = Packet::kExited;
    exited.pid = pid;
    exited.value = status;
    if (!send_packet(owner, exited, nullptr, 0)) forget(owner);
  }
}

// The pool is gone: so are its workers.
void ForkServer::forget(int channel) {
  for (auto& [pid, owner] : children_) {
    if (owner == channel) {
      kill(pid, SIGKILL);
      owner = -1;
    }
  }
  channels_.erase(std::find(channels_.begin(), channels_.end(), channel));
  ::close(channel);
}

void ForkServer::stop() {
  for (const auto& entry : children_) kill(entry.first, SIGKILL);
  for (const auto& entry : children_) waitpid(entry.first, nullptr, 0);
  _exit(0);
}

void fork_server_main(int control, int channel) { ForkServer(control, channel).run(); }

}  // namespace concurrent::futures::detail::process
