#include "rank_transport.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

namespace concurrent::futures::detail::mpi {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kIdBytes = 8;
// How often the processes of ranks on this host are checked while the pool waits.
constexpr auto kWatchInterval = std::chrono::milliseconds(100);

std::string this_host() {
  char name[HOST_NAME_MAX + 1] = {};
  return gethostname(name, sizeof name - 1) == 0 ? std::string(name) : std::string();
}

}  // namespace

int remote_tag(remote::Kind kind) noexcept { return kRemote + static_cast<int>(kind); }

std::string encode_remote(std::uint64_t id, std::string_view payload) {
  std::string bytes(kIdBytes + payload.size(), '\0');
  for (std::size_t i = 0; i < kIdBytes; ++i) bytes[i] = static_cast<char>((id >> (8 * i)) & 0xff);
  if (!payload.empty()) std::memcpy(bytes.data() + kIdBytes, payload.data(), payload.size());
  return bytes;
}

bool decode_remote(int tag, std::string& bytes, remote::Kind& kind, std::uint64_t& id, std::string& payload) {
  if (tag <= kRemote || bytes.size() < kIdBytes) return false;
  kind = static_cast<remote::Kind>(tag - kRemote);
  id = 0;
  for (std::size_t i = 0; i < kIdBytes; ++i) id |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  bytes.erase(0, kIdBytes);
  payload = std::move(bytes);
  return true;
}

RankTransport::RankTransport(std::shared_ptr<Engine> engine, WorkerRanks& ranks, bool may_signal)
    : engine_(std::move(engine)), comm_(ranks.comm()), inbox_(ranks.inbox()), may_signal_(may_signal) {
  const std::string host = this_host();
  SpinGuard guard(lock_);
  for (std::size_t i = 0; i < ranks.ranks().size(); ++i) {
    const Hello& hello = ranks.hellos()[i];
    Slot slot;
    slot.rank = ranks.ranks()[i];
    slot.pid = hello.pid;
    slot.host = hello.host;
    slot.local = !host.empty() && hello.host == host;
    slots_.push_back(std::move(slot));
  }
}

RankTransport::Slot* RankTransport::slot_of_worker(remote::WorkerId worker) {
  for (Slot& s : slots_) {
    if (s.worker == worker) return &s;
  }
  return nullptr;
}

RankTransport::Slot* RankTransport::slot_of_rank(int rank) {
  for (Slot& s : slots_) {
    if (s.rank == rank) return &s;
  }
  return nullptr;
}

std::string RankTransport::describe(const Slot& slot) const {
  return "rank " + std::to_string(slot.rank) + ", pid " + std::to_string(slot.pid) + " on " + slot.host;
}

void RankTransport::start(remote::WorkerId worker) {
  {
    SpinGuard guard(lock_);
    if (next_unused_ == slots_.size()) {
      throw std::runtime_error("every one of the " + std::to_string(slots_.size()) +
                               " worker ranks has already served (a rank serves one worker's life)");
    }
    slots_[next_unused_++].worker = worker;
  }
  inbox_->wake();  // poll() reports on_started
}

remote::SendStatus RankTransport::send(remote::WorkerId worker, remote::Kind kind, std::uint64_t id,
                                       std::string_view payload, remote::SendProgress& progress) {
  int rank = -1;
  {
    SpinGuard guard(lock_);
    const Slot* slot = slot_of_worker(worker);
    if (slot == nullptr || slot->ended) return remote::SendStatus::kBroken;
    rank = slot->rank;
  }
  progress.started = true;
  engine_->send(comm_, rank, remote_tag(kind), encode_remote(id, payload));
  progress.offset = payload.size();
  return remote::SendStatus::kDone;
}

void RankTransport::kill(remote::WorkerId worker, int signal) {
  {
    SpinGuard guard(lock_);
    Slot* slot = slot_of_worker(worker);
    if (slot == nullptr || slot->ended) return;
    if (slot->local && may_signal_) {
      ::kill(static_cast<pid_t>(slot->pid), signal);  // its disappearance is reported by watch_processes
      return;
    }
    slot->end_pending = std::string("abandoned: ") +
                        (slot->local ? "signalling a rank that mpiexec started would end the whole job"
                                     : "a rank on another host cannot be signalled") +
                        " (" + describe(*slot) + ")";
  }
  inbox_->wake();
}

void RankTransport::forget(remote::WorkerId worker) {
  SpinGuard guard(lock_);
  if (Slot* slot = slot_of_worker(worker)) slot->worker.reset();
}

void RankTransport::report_ended(remote::TransportEvents& events, Slot& slot, const remote::WorkerEnd& end) {
  std::optional<remote::WorkerId> worker;
  {
    SpinGuard guard(lock_);
    if (slot.ended || !slot.worker) return;
    slot.ended = true;
    worker = slot.worker;
  }
  events.on_exit(*worker, end);
}

void RankTransport::report_pending(remote::TransportEvents& events) {
  std::vector<std::pair<remote::WorkerId, long>> started;
  std::vector<Slot*> abandoned;
  {
    SpinGuard guard(lock_);
    for (Slot& s : slots_) {
      if (s.worker && !s.started_reported) {
        s.started_reported = true;
        started.emplace_back(*s.worker, s.pid);
      }
      if (!s.end_pending.empty() && !s.ended) abandoned.push_back(&s);
    }
  }
  for (const auto& [worker, pid] : started) events.on_started(worker, static_cast<int>(pid));
  for (Slot* s : abandoned) report_ended(events, *s, {s->end_pending, false});
}

void RankTransport::watch_processes(remote::TransportEvents& events) {
  next_watch_ = Clock::now() + kWatchInterval;
  std::vector<Slot*> gone;
  {
    SpinGuard guard(lock_);
    for (Slot& s : slots_) {
      if (s.local && s.worker && !s.ended && ::kill(static_cast<pid_t>(s.pid), 0) != 0 && errno == ESRCH) {
        gone.push_back(&s);
      }
    }
  }
  for (Slot* s : gone) report_ended(events, *s, {"its process is gone: " + describe(*s), false});
}

void RankTransport::deliver(remote::TransportEvents& events, Delivery& d) {
  if (d.kind == Delivery::Kind::kFault) {
    std::vector<Slot*> affected;
    {
      SpinGuard guard(lock_);
      for (Slot& s : slots_) {
        if (d.rank < 0 || s.rank == d.rank) affected.push_back(&s);
      }
    }
    for (Slot* s : affected) report_ended(events, *s, {"MPI failed: " + d.bytes + " (" + describe(*s) + ")", false});
    if (d.rank < 0) events.on_lost("MPI failed on the workers' communicator: " + d.bytes);
    return;
  }
  Slot* slot = nullptr;
  std::optional<remote::WorkerId> worker;
  {
    SpinGuard guard(lock_);
    slot = slot_of_rank(d.rank);
    if (slot != nullptr && !slot->ended) worker = slot->worker;
  }
  if (!worker) return;  // a rank with no worker (yet), or one that ended: kEcho, kStopped, late words
  if (d.tag == kExited) {
    const std::string status = d.bytes;
    report_ended(events, *slot, {"exit code " + status, status == "0"});
    return;
  }
  if (d.tag <= kRemote) return;
  remote::Kind kind{};
  std::uint64_t id = 0;
  std::string payload;
  if (!decode_remote(d.tag, d.bytes, kind, id, payload)) {
    events.on_corrupt(*worker, "a message too short to hold its id (" + describe(*slot) + ")");
    return;
  }
  events.on_message(*worker, kind, id, payload);
}

void RankTransport::poll(remote::TransportEvents& events, std::optional<Clock::time_point> deadline) {
  report_pending(events);
  if (Clock::now() >= next_watch_) watch_processes(events);
  Clock::time_point until = deadline.value_or(Clock::time_point::max());
  if (next_watch_ < until) until = next_watch_;
  got_.clear();
  inbox_->take(got_, until);
  report_pending(events);  // start() or kill() may have woken the wait
  for (Delivery& d : got_) deliver(events, d);
}

}  // namespace concurrent::futures::detail::mpi
