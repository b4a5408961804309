#include "process/shm_transport.hpp"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "cfutures/detail/futex.hpp"
#include "process/testing.hpp"

namespace concurrent::futures::detail::process {

namespace {

int pidfd_send_signal(int pidfd, int signal) noexcept {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return name != nullptr ? std::string("signal SIG") + name : "signal " + std::to_string(WTERMSIG(status));
  }
  return "wait status " + std::to_string(status);
}

void ring_doorbell(int fd) noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(fd, &one, sizeof one);
}

}  // namespace

// One worker: its shared region and both ends of its rings.
struct ShmTransport::Channel {
  remote::WorkerId id = 0;
  SharedRegion region;
  FrameWriter writer;  // request ring; under the pool's lock
  FrameReader reader;  // reply ring; the poll thread's, as is:
  bool reply_broken = false;
  // Set by send() while a message waits for room in the request ring.
  std::atomic<bool> blocked{false};
  // Under lock_:
  pid_t pid = 0;
  int pidfd = -1;
  bool spawned = false;
  bool ended = false;            // its end was reported
  int pending_signal = 0;        // to send once it is spawned
  bool failed_to_spawn = false;  // reported by the next poll (test hooks only)

  ~Channel() {
    if (pidfd >= 0) ::close(pidfd);
  }
};

ShmTransport::ShmTransport() {
  doorbell_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (doorbell_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  try {
    server_ = connect_fork_server();
  } catch (...) {
    ::close(doorbell_);
    throw;
  }
}

ShmTransport::~ShmTransport() {
  close();
  if (doorbell_ >= 0) ::close(doorbell_);
}

void ShmTransport::start(remote::WorkerId worker) {
  auto channel = std::make_unique<Channel>();
  channel->id = worker;
  channel->region = SharedRegion::create();
  channel->reader = FrameReader(channel->region.reply(), kReplyKinds);
  channel->writer = FrameWriter(channel->region.request());
  {
    SpinGuard guard(lock_);
#if CFUTURES_TEST_HOOKS
    channel->failed_to_spawn = testing::take_spawn_failure();
#endif
    if (!channel->failed_to_spawn &&
        (server_.socket < 0 || !request_spawn(server_.socket, worker, channel->region.fd(), doorbell_))) {
      throw std::runtime_error("the fork server is gone");
    }
    channel->region.close_fd();
    channels_.push_back(std::move(channel));
  }
  generation_.fetch_add(1, std::memory_order_release);
}

ShmTransport::Channel* ShmTransport::find_locked(remote::WorkerId worker) {
  for (auto& c : channels_) {
    if (c->id == worker) return c.get();
  }
  return nullptr;
}

remote::SendStatus ShmTransport::send(remote::WorkerId worker, remote::Kind kind, std::uint64_t id,
                                      std::string_view payload, remote::SendProgress& progress) {
  Channel* c;
  {
    SpinGuard guard(lock_);
    c = find_locked(worker);
  }
  if (c == nullptr) return remote::SendStatus::kBroken;
  const std::uint64_t before = c->writer.position();
  FrameWriter::Status status = c->writer.write(kind, id, payload, progress);
  if (status == FrameWriter::Status::kFull) {
    // Ask the worker to clear the flag when it frees space, then look once more: space freed
    // before the flag was up would otherwise go unnoticed.
    c->region.header()->request.producer_waiting.store(1, std::memory_order_seq_cst);
    status = c->writer.write(kind, id, payload, progress);
  }
  if (status == FrameWriter::Status::kCorrupt) return remote::SendStatus::kBroken;
  c->blocked.store(status == FrameWriter::Status::kFull, std::memory_order_seq_cst);
  if (c->writer.position() != before) wake_consumer(c->region.header()->request);
  return status == FrameWriter::Status::kDone ? remote::SendStatus::kDone : remote::SendStatus::kFull;
}

void ShmTransport::kill(remote::WorkerId worker, int signal) {
  SpinGuard guard(lock_);
  Channel* c = find_locked(worker);
  if (c == nullptr || c->ended) return;
  if (c->spawned) {
    if (c->pidfd >= 0) pidfd_send_signal(c->pidfd, signal);
  } else if (c->pending_signal != SIGKILL) {
    c->pending_signal = signal;
  }
}

void ShmTransport::forget(remote::WorkerId worker) {
  {
    SpinGuard guard(lock_);
    auto it = std::find_if(channels_.begin(), channels_.end(), [&](auto& c) { return c->id == worker; });
    if (it == channels_.end()) return;
    forgotten_.push_back(std::move(*it));
    channels_.erase(it);
  }
  generation_.fetch_add(1, std::memory_order_release);
}

void ShmTransport::wake() noexcept {
  kicks_.fetch_add(1, std::memory_order_seq_cst);
  if (thread_sleeping_.load(std::memory_order_seq_cst) && thread_sleeping_.exchange(false)) ring_doorbell(doorbell_);
}

void ShmTransport::close() noexcept {
  int socket;
  {
    SpinGuard guard(lock_);
    socket = std::exchange(server_.socket, -1);
  }
  if (socket >= 0) ::close(socket);  // a server of the pool's own exits when its channel closes
  reap_server();
}

// Waits for a fork server of the pool's own to end (the early server is the program's).
void ShmTransport::reap_server() noexcept {
  if (server_.pid > 0) reap_child(std::exchange(server_.pid, -1), std::exchange(server_.pidfd, -1));
}

// ---- poll ----------------------------------------------------------------------------------

void ShmTransport::poll(remote::TransportEvents& events,
                        std::optional<std::chrono::steady_clock::time_point> deadline) {
  for (;;) {
    refresh_snapshot();
    bool progress = false;
    for (Channel* c : snapshot_) progress = drain(*c, events) || progress;
    progress = report_space(events) || progress;
    progress = read_server(events) || progress;
    progress = watch_pidfds(events) || progress;
    progress = report_failed_spawns(events) || progress;
    const std::uint64_t kicks = kicks_.load(std::memory_order_seq_cst);
    if (kicks != seen_kicks_) {
      seen_kicks_ = kicks;
      progress = true;
    }
    if (progress) return;
    if (deadline && std::chrono::steady_clock::now() >= *deadline) return;
    if (spin_until([&] { return has_work(); })) continue;
    sleep(deadline);
  }
}

void ShmTransport::refresh_snapshot() {
  const std::uint64_t generation = generation_.load(std::memory_order_acquire);
  if (generation == snapshot_generation_) return;
  std::vector<std::unique_ptr<Channel>> freed;
  {
    SpinGuard guard(lock_);
    snapshot_.clear();
    for (auto& c : channels_) snapshot_.push_back(c.get());
    freed.swap(forgotten_);  // no snapshot holds them any more
    snapshot_generation_ = generation_.load(std::memory_order_relaxed);
  }
}

bool ShmTransport::has_work() const noexcept {
  if (kicks_.load(std::memory_order_seq_cst) != seen_kicks_) return true;
  if (generation_.load(std::memory_order_acquire) != snapshot_generation_) return true;
  for (Channel* c : snapshot_) {
    if (!c->reply_broken && c->reader.has_data()) return true;
    if (c->blocked.load(std::memory_order_relaxed) &&
        c->region.header()->request.producer_waiting.load(std::memory_order_seq_cst) == 0) {
      return true;  // the worker freed request space a send waits for
    }
  }
  return false;
}

void ShmTransport::sleep(std::optional<std::chrono::steady_clock::time_point> deadline) {
  thread_sleeping_.store(true, std::memory_order_seq_cst);
  for (Channel* c : snapshot_) c->region.header()->pool_sleeping.store(1, std::memory_order_seq_cst);
  if (!has_work()) {
    int timeout = server_.socket >= 0 ? -1 : 10;  // without a server, watch_pidfds polls
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      timeout = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, timeout < 0 ? 1 << 30 : timeout));
    }
    pollfd fds[2] = {{doorbell_, POLLIN, 0}, {server_.socket, POLLIN, 0}};
    ::poll(fds, server_.socket >= 0 ? 2 : 1, timeout);
    std::uint64_t count;
    [[maybe_unused]] const auto r = ::read(doorbell_, &count, sizeof count);
  }
  thread_sleeping_.store(false, std::memory_order_relaxed);
  for (Channel* c : snapshot_) c->region.header()->pool_sleeping.store(0, std::memory_order_relaxed);
}

// Reports every complete reply of `c`. Returns true if it consumed anything.
bool ShmTransport::drain(Channel& c, remote::TransportEvents& events) {
  if (c.reply_broken) return false;
  bool any = false;
  FrameReader::Message message;
  for (;;) {
    const auto status = c.reader.next(message);
    if (status == FrameReader::Status::kEmpty) break;
    any = true;
    if (status == FrameReader::Status::kCorrupt) {
      c.reply_broken = true;
      kill(c.id, SIGKILL);
      events.on_corrupt(c.id, "it wrote a malformed frame");
      break;
    }
    events.on_message(c.id, message.kind, message.id, message.payload);
  }
  if (any) {
    RingControl& ring = c.region.header()->reply;
    if (ring.producer_waiting.load(std::memory_order_seq_cst) != 0 && ring.producer_waiting.exchange(0) != 0) {
      ring.space_bell.fetch_add(1, std::memory_order_seq_cst);
      shared_futex_wake(ring.space_bell);
    }
  }
  return any;
}

// Tells the pool about sends that may continue.
bool ShmTransport::report_space(remote::TransportEvents& events) {
  bool any = false;
  for (Channel* c : snapshot_) {
    if (!c->blocked.load(std::memory_order_relaxed) ||
        c->region.header()->request.producer_waiting.load(std::memory_order_seq_cst) != 0) {
      continue;
    }
    events.on_writable(c->id);
    any = true;
  }
  return any;
}

// Handles the fork server's packets. Returns true if there were any.
bool ShmTransport::read_server(remote::TransportEvents& events) {
  if (server_.socket < 0) return false;
  bool any = false;
  for (;;) {
    Packet packet;
    int pidfd = -1;
    const ReadStatus status = read_packet(server_.socket, packet, &pidfd);
    if (status == ReadStatus::kNone) break;
    any = true;
    if (status == ReadStatus::kClosed) {
      on_server_gone(events);
      break;
    }
    switch (packet.type) {
      case Packet::kSpawned:
        on_spawned(packet, pidfd, events);
        break;
      case Packet::kSpawnFailed: {
        {
          SpinGuard guard(lock_);
          if (Channel* c = find_locked(packet.slot)) c->ended = true;
        }
        events.on_start_failed(packet.slot, std::string("fork: ") + strerror(packet.value));
        break;
      }
      case Packet::kExited:
        on_exited(packet.pid, packet.value, events);
        break;
      default:
        break;
    }
  }
  return any;
}

void ShmTransport::on_spawned(const Packet& packet, int pidfd, remote::TransportEvents& events) {
  {
    SpinGuard guard(lock_);
    Channel* c = find_locked(packet.slot);
    if (c == nullptr) {
      if (pidfd >= 0) ::close(pidfd);
      return;
    }
    c->pid = packet.pid;
    c->pidfd = pidfd;
    c->spawned = true;
    if (c->pending_signal != 0 && pidfd >= 0) pidfd_send_signal(pidfd, c->pending_signal);
  }
  events.on_started(packet.slot, packet.pid);
}

void ShmTransport::on_exited(pid_t pid, int status, remote::TransportEvents& events) {
  Channel* channel = nullptr;
  {
    SpinGuard guard(lock_);
    for (auto& c : channels_) {
      if (c->spawned && c->pid == pid) channel = c.get();
    }
  }
  if (channel != nullptr) {
    end(*channel, {describe_status(status), WIFEXITED(status) && WEXITSTATUS(status) == 0}, events);
  }
}

// Reports the end of a worker, after the replies it wrote before it ended.
void ShmTransport::end(Channel& c, const remote::WorkerEnd& how, remote::TransportEvents& events) {
  drain(c, events);
  {
    SpinGuard guard(lock_);
    c.ended = true;
  }
  events.on_exit(c.id, how);
}

void ShmTransport::on_server_gone(remote::TransportEvents& events) {
  {
    SpinGuard guard(lock_);
    ::close(std::exchange(server_.socket, -1));
  }
  reap_server();
  events.on_lost("the fork server exited");  // no worker could be started any more
}

// Spawns that the test hooks failed, reported as the fork server reports a failed fork().
bool ShmTransport::report_failed_spawns(remote::TransportEvents& events) {
  std::vector<remote::WorkerId> failed;
  {
    SpinGuard guard(lock_);
    for (auto& c : channels_) {
      if (c->failed_to_spawn && !c->ended) {
        c->ended = true;
        failed.push_back(c->id);
      }
    }
  }
  for (remote::WorkerId id : failed) events.on_start_failed(id, std::string("fork: ") + strerror(EAGAIN));
  return !failed.empty();
}

// Without a fork server to report exits, a worker's end shows on its pidfd.
bool ShmTransport::watch_pidfds(remote::TransportEvents& events) {
  if (server_.socket >= 0) return false;
  std::vector<Channel*> ended;
  {
    SpinGuard guard(lock_);
    for (auto& c : channels_) {
      if (c->ended) continue;
      pollfd p{c->pidfd, POLLIN, 0};
      if (c->pidfd < 0 || ::poll(&p, 1, 0) == 1) ended.push_back(c.get());
    }
  }
  for (Channel* c : ended) end(*c, {"its fork server exited", false}, events);
  return !ended.empty();
}

#if CFUTURES_TEST_HOOKS
namespace testing {
namespace {
std::atomic<int> spawns_until_failure{-1};
}  // namespace

void fail_spawns_after(int spawns) noexcept { spawns_until_failure.store(spawns, std::memory_order_relaxed); }

bool take_spawn_failure() noexcept {
  int countdown = spawns_until_failure.load(std::memory_order_relaxed);
  while (countdown >= 0 && !spawns_until_failure.compare_exchange_weak(countdown, countdown - 1)) {
  }
  return countdown == 0;
}
}  // namespace testing
#endif

}  // namespace concurrent::futures::detail::process
