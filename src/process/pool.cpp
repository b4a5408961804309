// cf::ProcessPoolExecutor's parent side: dispatching jobs to worker rings, the reply thread,
// fault handling and shutdown. See docs/process-pool.md for the design.
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "cfutures/detail/futex.hpp"
#include "cfutures/detail/process/call.hpp"
#include "cfutures/detail/process/exception_record.hpp"
#include "cfutures/detail/process/job.hpp"
#include "cfutures/detail/process/testing.hpp"
#include "cfutures/detail/process/wire.hpp"
#include "cfutures/detail/spin_lock.hpp"
#include "cfutures/detail/thread_annotations.hpp"
#include "cfutures/process_pool.hpp"
#include "cfutures/thread_pool.hpp"
#include "forkserver.hpp"
#include "inheritance.hpp"
#include "shm.hpp"

namespace concurrent::futures::detail::process {

namespace {

// Calls a worker may hold at once (sent, not yet answered): the next call waits in its ring
// while it runs one, so a busy worker never idles waiting for the reply thread.
constexpr std::size_t kWorkerDepth = 2;

std::atomic<int> spawns_until_failure{-1};

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

std::string exception_text(const std::exception_ptr& error) {
  const ExceptionRecord record = capture_exception(error, {});
  return (record.type.empty() ? std::string("unknown") : demangle(record.type.c_str())) + ": " + record.what;
}

// Why a pool broke: what each failed future says, and what later submits throw.
struct Breakage {
  std::string future_message;
  std::string submit_message;
};

Breakage died(const std::string& how) {
  return {"A process in the process pool was terminated abruptly while the future was running or pending (" + how + ")",
          "A child process terminated abruptly, the process pool is not usable anymore (" + how + ")"};
}
Breakage not_started(const std::string& why) {
  return {"A process in the process pool could not be started (" + why + ")",
          "A process in the process pool could not be started, the process pool is not usable anymore (" + why + ")"};
}
Breakage killed(const std::string& why) {
  return {"A process in the process pool was killed because " + why + " while the future was running or pending",
          "A process in the process pool was killed because " + why + ", the process pool is not usable anymore"};
}

void write_doorbell(int fd) noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(fd, &one, sizeof one);
}

// One worker process, as the pool sees it.
struct WorkerProc {
  std::uint32_t slot = 0;
  SharedRegion region;
  FrameReader reader;  // reply ring; the reply thread's alone, as is:
  bool reply_corrupt = false;
  // Set (under the lock) while calls wait for room in the request ring; read by the
  // spinning reply thread.
  std::atomic<bool> blocked{false};

  // Under the pool's lock:
  FrameWriter writer;  // request ring
  bool init_sent = false;
  FrameWriter::Progress init_progress;
  std::deque<Job*> assigned;       // sent or being sent, in order; replies come in this order
  std::size_t unsent = 0;          // index in `assigned` of the first job not wholly written
  FrameWriter::Progress progress;  // of assigned[unsent]
  std::uint32_t dispatched = 0;
  bool retiring = false;  // takes no more calls (max_tasks_per_child reached, or told to quit)
  bool quit_wanted = false;
  bool quit_sent = false;
  bool corrupt = false;
  pid_t pid = 0;
  int pidfd = -1;
  bool spawned = false;
  bool exited = false;
  std::string init_failure;  // "std::runtime_error: boom", from kInitFailed
};

}  // namespace

class PoolCore : public std::enable_shared_from_this<PoolCore> {
 public:
  PoolCore(std::size_t max_workers, std::uint32_t max_tasks, std::string init_call)
      : max_workers_(max_workers), max_tasks_(max_tasks) {
    capture_inherited_state(init_message_);
    put_raw(init_message_, max_tasks);
    put_raw(init_message_, static_cast<std::uint32_t>(init_call.empty() ? 0 : 1));
    init_message_ += init_call;
  }
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;

  ~PoolCore() {
    for (Job* job : pending_) delete job;
    if (doorbell_ >= 0) ::close(doorbell_);
  }

  // Starts the fork server and the reply thread. Failures break the pool (submit reports
  // them) rather than throw from the constructor.
  void start() {
    try {
      doorbell_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (doorbell_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
      server_ = connect_fork_server();
      thread_ = std::thread([self = shared_from_this()] { self->reply_thread(); });
    } catch (const std::exception& e) {
      if (server_.socket >= 0) {
        ::close(std::exchange(server_.socket, -1));
        reap_server();
      }
      SpinGuard guard(lock_);
      set_broken_locked(not_started(e.what()));
    }
  }

  void check_open() {
    SpinGuard guard(lock_);
    throw_if_closed_locked();
  }

  void submit(std::unique_ptr<Job> job) {
    bool wrote;
    {
      SpinGuard guard(lock_);
      throw_if_closed_locked();
      job->id = ++next_id_;
      pending_.push_back(job.release());
      wrote = dispatch_locked();
    }
    if (wrote) kick();
  }

  void shutdown(bool wait, bool cancel_futures) {
    std::deque<Job*> cancelled;
    {
      SpinGuard guard(lock_);
      shutdown_ = true;
      if (cancel_futures) cancelled.swap(pending_);
    }
    for (Job* job : cancelled) delete job;  // ~Job cancels its pending futures
    kick();
    if (wait) join();
  }

  void force_shutdown(int signal) {
    shutdown(false, true);
    {
      SpinGuard guard(lock_);
      kill_signal_ = signal;
      for (auto& w : workers_) {
        if (w->pidfd >= 0 && !w->exited) pidfd_send_signal(w->pidfd, signal);
      }
    }
    kick();
  }

  std::size_t worker_count() const noexcept { return alive_.load(std::memory_order_acquire); }
  std::size_t max_workers() const noexcept { return max_workers_; }

 private:
  // ---- Under the lock ----------------------------------------------------------------

  void throw_if_closed_locked() const CF_REQUIRES(lock_) {
    if (!broken_submit_.empty()) throw BrokenProcessPool(broken_submit_);
    if (shutdown_) throw ExecutorShutdown();
  }

  void set_broken_locked(Breakage breakage) CF_REQUIRES(lock_) {
    if (!broken_future_.empty()) return;
    broken_future_ = std::move(breakage.future_message);
    broken_submit_ = std::move(breakage.submit_message);
  }

  // Moves pending jobs to workers with room, starting workers as needed. Returns true if it
  // wrote into a ring or asked for a worker (the reply thread should be awake).
  bool dispatch_locked() CF_REQUIRES(lock_) {
    bool wrote = false;
    while (!pending_.empty() && broken_future_.empty()) {
      WorkerProc* worker = pick_worker_locked(wrote);
      if (worker == nullptr) break;
      Job* job = pending_.front();
      pending_.pop_front();
      if (!start_job(*job)) {
        delete job;  // its future was cancelled
        continue;
      }
      worker->assigned.push_back(job);
      if (max_tasks_ != 0 && ++worker->dispatched >= max_tasks_) worker->retiring = true;
      wrote = flush_locked(*worker) || wrote;
    }
    return wrote;
  }

  // An idle worker; else a new one while fewer than max_workers exist; else the least
  // loaded one with room; else nullptr.
  WorkerProc* pick_worker_locked(bool& spawned) CF_REQUIRES(lock_) {
    WorkerProc* best = nullptr;
    for (auto& w : workers_) {
      if (w->exited || w->retiring || w->corrupt) continue;
      if (w->assigned.empty()) return w.get();
      if (w->assigned.size() < kWorkerDepth && (best == nullptr || w->assigned.size() < best->assigned.size())) {
        best = w.get();
      }
    }
    if (workers_.size() < max_workers_) {
      if (WorkerProc* fresh = spawn_locked()) {
        spawned = true;
        return fresh;
      }
    }
    return best;
  }

  WorkerProc* spawn_locked() CF_REQUIRES(lock_) {
    if (server_.socket < 0) return nullptr;
    auto worker = std::make_unique<WorkerProc>();
    try {
      worker->region = SharedRegion::create();
    } catch (const std::exception& e) {
      set_broken_locked(not_started(e.what()));
      return nullptr;
    }
    worker->slot = next_slot_++;
    worker->reader = FrameReader(worker->region.reply(), kReplyKinds);
    worker->writer = FrameWriter(worker->region.request());
    int countdown = spawns_until_failure.load(std::memory_order_relaxed);
    while (countdown > 0 && !spawns_until_failure.compare_exchange_weak(countdown, countdown - 1)) {
    }
    const bool simulate_failure = countdown == 0;
    if (!request_spawn(server_.socket, worker->slot, worker->region.fd(), doorbell_, simulate_failure)) {
      set_broken_locked(not_started("the fork server is gone"));
      return nullptr;
    }
    worker->region.close_fd();
    workers_.push_back(std::move(worker));
    alive_.fetch_add(1, std::memory_order_acq_rel);
    generation_.fetch_add(1, std::memory_order_release);
    return workers_.back().get();
  }

  // Marks the job's future RUNNING (CPython marks a call running when it enters the call
  // queue); drops it if it was cancelled. False if it was.
  static bool start_job(Job& job) {
    bool run = false;
    try {
      run = job.state->set_running_or_notify_cancel();
    } catch (const InvalidStateError&) {  // completed directly through set_result
    }
    if (!run) std::exchange(job.state, nullptr)->release();
    return run;
  }

  // Writes what fits of the worker's unsent messages (the kInit, calls, a kQuit once wanted).
  // Returns true if it wrote anything.
  bool flush_locked(WorkerProc& w) CF_REQUIRES(lock_) {
    if (w.corrupt || w.exited) return false;
    const std::uint64_t before = w.writer.position();
    FrameWriter::Status status = FrameWriter::Status::kDone;
    bool flagged = false;
    for (;;) {
      if (!w.init_sent) {
        status = w.writer.write(Kind::kInit, 0, init_message_, w.init_progress);
        if (status == FrameWriter::Status::kDone) w.init_sent = true;
      } else if (w.unsent < w.assigned.size()) {
        Job* job = w.assigned[w.unsent];
        status = w.writer.write(Kind::kCall, job->id, job->payload, w.progress);
        if (status == FrameWriter::Status::kDone) {
          ++w.unsent;
          w.progress = {};
          std::string().swap(job->payload);
        }
      } else if (w.quit_wanted && !w.quit_sent) {
        FrameWriter::Progress quit;
        status = w.writer.write(Kind::kQuit, 0, {}, quit);
        if (status == FrameWriter::Status::kDone) w.quit_sent = true;
      } else {
        status = FrameWriter::Status::kDone;
        break;
      }
      if (status == FrameWriter::Status::kDone) continue;
      if (status == FrameWriter::Status::kFull && !flagged) {
        // Ask the worker to clear the flag when it frees space, then look once more: space
        // freed before the flag was up would otherwise go unnoticed.
        w.region.header()->request.producer_waiting.store(1, std::memory_order_seq_cst);
        flagged = true;
        continue;
      }
      break;
    }
    if (status == FrameWriter::Status::kCorrupt) {
      w.corrupt = true;
      return false;
    }
    w.blocked.store(status == FrameWriter::Status::kFull, std::memory_order_seq_cst);
    const bool wrote = w.writer.position() != before;
    if (wrote) wake_consumer(w.region.header()->request);
    return wrote;
  }

  // ---- The reply thread ----------------------------------------------------------------

  void kick() noexcept {
    kicks_.fetch_add(1, std::memory_order_seq_cst);
    if (thread_sleeping_.load(std::memory_order_seq_cst) && thread_sleeping_.exchange(false)) {
      write_doorbell(doorbell_);
    }
  }

  void join() {
    std::lock_guard lock(join_mutex_);
    if (!thread_.joinable()) return;
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // shutdown from a done-callback: this thread ends by itself
    } else {
      thread_.join();
    }
  }

  void reply_thread() {
    pthread_setname_np(pthread_self(), "cf-process-pool");
    FrameReader::Message message;
    std::uint64_t seen_kicks = 0;
    for (;;) {
      refresh_snapshot();
      bool progress = false;
      for (WorkerProc* w : snapshot_) progress = drain(*w, message) || progress;
      progress = pump_requests() || progress;
      progress = read_server() || progress;
      const std::uint64_t kicks = kicks_.load(std::memory_order_seq_cst);
      if (kicks != seen_kicks) {
        seen_kicks = kicks;
        progress = true;
      }
      progress = housekeeping() || progress;
      if (finished()) break;
      if (progress) continue;
      if (spin_until([&] { return has_work(seen_kicks); })) continue;
      sleep(seen_kicks);
    }
    teardown();
  }

  void refresh_snapshot() {
    const std::uint64_t generation = generation_.load(std::memory_order_acquire);
    if (generation == snapshot_generation_) return;
    SpinGuard guard(lock_);
    snapshot_.clear();
    for (auto& w : workers_) snapshot_.push_back(w.get());
    snapshot_generation_ = generation_.load(std::memory_order_relaxed);
  }

  bool has_work(std::uint64_t seen_kicks) const noexcept {
    if (kicks_.load(std::memory_order_seq_cst) != seen_kicks) return true;
    if (generation_.load(std::memory_order_acquire) != snapshot_generation_) return true;
    for (WorkerProc* w : snapshot_) {
      if (!w->reply_corrupt && w->reader.has_data()) return true;
      if (w->blocked.load(std::memory_order_relaxed) &&
          w->region.header()->request.producer_waiting.load(std::memory_order_seq_cst) == 0) {
        return true;  // the worker freed request space we wait for
      }
    }
    return false;
  }

  void sleep(std::uint64_t seen_kicks) {
    thread_sleeping_.store(true, std::memory_order_seq_cst);
    for (WorkerProc* w : snapshot_) w->region.header()->pool_sleeping.store(1, std::memory_order_seq_cst);
    if (!has_work(seen_kicks)) {
      pollfd fds[2] = {{doorbell_, POLLIN, 0}, {server_.socket, POLLIN, 0}};
      const int n = server_.socket >= 0 ? 2 : 1;
      poll(fds, n, server_.socket >= 0 ? -1 : 10);
      std::uint64_t count;
      [[maybe_unused]] const auto r = ::read(doorbell_, &count, sizeof count);
    }
    thread_sleeping_.store(false, std::memory_order_relaxed);
    for (WorkerProc* w : snapshot_) w->region.header()->pool_sleeping.store(0, std::memory_order_relaxed);
  }

  // Reads every complete reply of `w`. Returns true if it consumed anything.
  bool drain(WorkerProc& w, FrameReader::Message& message) {
    if (w.reply_corrupt) return false;
    bool any = false;
    for (;;) {
      const auto status = w.reader.next(message);
      if (status == FrameReader::Status::kEmpty) break;
      any = true;
      if (status == FrameReader::Status::kCorrupt) {
        on_corrupt(w, "it wrote a malformed frame");
        break;
      }
      if (message.kind == Kind::kInitFailed) {
        ExceptionRecord record;
        if (!decode_exception(message.payload, record)) {
          on_corrupt(w, "it sent a malformed initializer error");
          break;
        }
        SpinGuard guard(lock_);
        w.init_failure =
            (record.type.empty() ? std::string("unknown") : demangle(record.type.c_str())) + ": " + record.what;
        continue;
      }
      if (!handle_reply(w, message)) break;
    }
    if (any) release_reply_space(w);
    return any;
  }

  bool handle_reply(WorkerProc& w, FrameReader::Message& message) {
    std::string_view payload = message.payload;
    std::uint8_t tag = 0;
    ExceptionRecord record;
    if (!get_raw(payload, tag) || (tag != kValues && tag != kError) ||
        (tag == kError && !decode_exception(payload, record))) {
      on_corrupt(w, "it sent a malformed reply");
      return false;
    }
    Job* job = nullptr;
    {
      SpinGuard guard(lock_);
      if (!w.assigned.empty() && w.unsent > 0 && w.assigned.front()->id == message.id) {
        job = w.assigned.front();
        w.assigned.pop_front();
        --w.unsent;
        dispatch_locked();
      }
    }
    if (job == nullptr) {
      on_corrupt(w, "it replied to a call it was not sent");
      return false;
    }
    if (job->state != nullptr) {
      if (tag == kError) {
        job->state->abandon(rebuild_exception(record));
      } else {
        try {
          Decoder in(payload);
          job->decode(*job, in);
        } catch (...) {
          job->state->abandon(std::make_exception_ptr(SerializationError("could not deserialize the result of " +
                                                                         demangle(job->callable) + ": " +
                                                                         exception_text(std::current_exception()))));
        }
      }
    }
    delete job;
    return true;
  }

  // Continues writing calls that did not fit in their worker's request ring.
  bool pump_requests() {
    bool any = false;
    for (WorkerProc* w : snapshot_) {
      if (!w->blocked.load(std::memory_order_relaxed)) continue;
      SpinGuard guard(lock_);
      any = flush_locked(*w) || any;
    }
    return any;
  }

  void release_reply_space(WorkerProc& w) noexcept {
    RingControl& ring = w.region.header()->reply;
    if (ring.producer_waiting.load(std::memory_order_seq_cst) != 0 && ring.producer_waiting.exchange(0) != 0) {
      ring.space_bell.fetch_add(1, std::memory_order_seq_cst);
      shared_futex_wake(ring.space_bell);
    }
  }

  void on_corrupt(WorkerProc& w, const std::string& why) {
    w.reply_corrupt = true;
    {
      SpinGuard guard(lock_);
      w.corrupt = true;
      if (w.pidfd >= 0) pidfd_send_signal(w.pidfd, SIGKILL);
    }
    break_pool(killed(why));
  }

  // Fails every pending and running future, each with its own BrokenProcessPool, and kills
  // the workers.
  void break_pool(Breakage breakage) {
    std::vector<Job*> jobs;
    std::string message;
    {
      SpinGuard guard(lock_);
      set_broken_locked(std::move(breakage));
      message = broken_future_;
      collect_jobs_locked(jobs);
      kill_workers_locked();
    }
    fail_jobs(jobs, message);
  }

  void collect_jobs_locked(std::vector<Job*>& jobs) CF_REQUIRES(lock_) {
    jobs.insert(jobs.end(), pending_.begin(), pending_.end());
    pending_.clear();
    for (auto& w : workers_) {
      jobs.insert(jobs.end(), w->assigned.begin(), w->assigned.end());
      w->assigned.clear();
      w->unsent = 0;
      w->retiring = true;
    }
  }

  void kill_workers_locked() CF_REQUIRES(lock_) {
    kill_signal_ = SIGKILL;
    for (auto& w : workers_) {
      if (w->pidfd >= 0 && !w->exited) pidfd_send_signal(w->pidfd, SIGKILL);
    }
  }

  static void fail_jobs(std::vector<Job*>& jobs, const std::string& message) {
    for (Job* job : jobs) {
      if (job->state != nullptr) job->state->abandon(std::make_exception_ptr(BrokenProcessPool(message)));
      delete job;
    }
    jobs.clear();
  }

  WorkerProc* find_locked(std::uint32_t slot, pid_t pid) CF_REQUIRES(lock_) {
    for (auto& w : workers_) {
      if ((pid != 0 && w->spawned && w->pid == pid) || (pid == 0 && w->slot == slot)) return w.get();
    }
    return nullptr;
  }

  // Handles the fork server's packets. Returns true if there were any.
  bool read_server() {
    if (server_.socket < 0) return false;
    bool any = false;
    for (;;) {
      Packet packet;
      int pidfd = -1;
      const ReadStatus status = read_packet(server_.socket, packet, &pidfd);
      if (status == ReadStatus::kNone) break;
      any = true;
      if (status == ReadStatus::kClosed) {
        on_server_gone();
        break;
      }
      switch (packet.type) {
        case Packet::kSpawned: {
          SpinGuard guard(lock_);
          WorkerProc* w = find_locked(packet.slot, 0);
          if (w == nullptr) {
            if (pidfd >= 0) ::close(pidfd);
            break;
          }
          w->pid = packet.pid;
          w->pidfd = pidfd;
          w->spawned = true;
          if (kill_signal_ != 0 && w->pidfd >= 0) pidfd_send_signal(w->pidfd, kill_signal_);
          if (w->corrupt && w->pidfd >= 0) pidfd_send_signal(w->pidfd, SIGKILL);
          break;
        }
        case Packet::kSpawnFailed: {
          WorkerProc* w;
          {
            SpinGuard guard(lock_);
            w = find_locked(packet.slot, 0);
            if (w != nullptr) w->exited = true;
          }
          break_pool(not_started(std::string("fork: ") + strerror(packet.value)));
          if (w != nullptr) remove_worker(*w);
          break;
        }
        case Packet::kExited:
          on_exit(packet.pid, packet.value);
          break;
        default:
          break;
      }
    }
    return any;
  }

  void on_exit(pid_t pid, int status) {
    WorkerProc* w;
    {
      SpinGuard guard(lock_);
      w = find_locked(0, pid);
    }
    if (w == nullptr) return;
    FrameReader::Message message;
    drain(*w, message);  // replies written before it exited still count
    bool planned;
    std::string init_failure;
    {
      SpinGuard guard(lock_);
      w->exited = true;
      planned = WIFEXITED(status) && WEXITSTATUS(status) == 0 && w->assigned.empty() && w->retiring && !w->corrupt &&
                broken_future_.empty();
      init_failure = w->init_failure;
    }
    if (!planned) {
      std::string how = describe_status(status);
      if (!init_failure.empty()) how += ": its initializer threw " + init_failure;
      break_pool(died(how));
    }
    remove_worker(*w);
  }

  void remove_worker(WorkerProc& w) {
    std::unique_ptr<WorkerProc> gone;
    {
      SpinGuard guard(lock_);
      auto it = std::find_if(workers_.begin(), workers_.end(), [&](auto& p) { return p.get() == &w; });
      if (it == workers_.end()) return;
      gone = std::move(*it);
      workers_.erase(it);
      alive_.fetch_sub(1, std::memory_order_acq_rel);
      generation_.fetch_add(1, std::memory_order_release);
      dispatch_locked();  // a replacement may start now
    }
    if (gone->pidfd >= 0) ::close(gone->pidfd);
    refresh_snapshot();
  }

  void on_server_gone() {
    {
      SpinGuard guard(lock_);
      ::close(std::exchange(server_.socket, -1));
    }
    reap_server();
    break_pool(died("the fork server exited"));  // no worker could be started any more
  }

  // Winding down: quits idle workers once shut down and drained; without a fork server,
  // watches the workers' pidfds for their end. Returns true if it did anything.
  bool housekeeping() {
    std::vector<Job*> doomed;
    std::string message;
    bool any = false;
    {
      SpinGuard guard(lock_);
      if (!broken_future_.empty()) {
        if (!pending_.empty() ||
            std::any_of(workers_.begin(), workers_.end(), [](auto& w) { return !w->assigned.empty(); })) {
          collect_jobs_locked(doomed);
          message = broken_future_;
        }
      } else if (shutdown_ && pending_.empty()) {
        for (auto& w : workers_) {
          if (w->assigned.empty() && !w->quit_wanted && !w->exited) {
            w->retiring = true;
            w->quit_wanted = true;
            any = flush_locked(*w) || any;
          }
        }
      }
    }
    if (!doomed.empty()) {
      fail_jobs(doomed, message);
      any = true;
    }
    if (server_.socket < 0) {  // no fork server to report exits: poll the pidfds
      std::vector<WorkerProc*> ended;
      {
        SpinGuard guard(lock_);
        for (auto& w : workers_) {
          pollfd p{w->pidfd, POLLIN, 0};
          if (w->pidfd < 0 || poll(&p, 1, 0) == 1) ended.push_back(w.get());
        }
      }
      for (WorkerProc* w : ended) {
        {
          SpinGuard guard(lock_);
          w->exited = true;
        }
        remove_worker(*w);
        any = true;
      }
    }
    return any;
  }

  bool finished() {
    SpinGuard guard(lock_);
    if (!workers_.empty()) return false;
    return !broken_future_.empty() || (shutdown_ && pending_.empty());
  }

  void teardown() {
    int socket;
    {
      SpinGuard guard(lock_);
      socket = std::exchange(server_.socket, -1);
    }
    if (socket >= 0) ::close(socket);  // a server of the pool's own exits when its channel closes
    reap_server();
  }

  // Waits for a fork server of the pool's own to end (the early server is the program's).
  void reap_server() {
    if (server_.pid > 0) waitpid(std::exchange(server_.pid, -1), nullptr, 0);
  }

  const std::size_t max_workers_;
  const std::uint32_t max_tasks_;
  std::string init_message_;  // the kInit payload

  mutable SpinLock lock_;
  bool shutdown_ CF_GUARDED_BY(lock_) = false;
  int kill_signal_ CF_GUARDED_BY(lock_) = 0;
  std::string broken_future_ CF_GUARDED_BY(lock_);  // what each failed future says; empty if not broken
  std::string broken_submit_ CF_GUARDED_BY(lock_);  // what submit throws once broken
  std::deque<Job*> pending_ CF_GUARDED_BY(lock_);
  std::vector<std::unique_ptr<WorkerProc>> workers_ CF_GUARDED_BY(lock_);
  std::uint64_t next_id_ CF_GUARDED_BY(lock_) = 0;
  std::uint32_t next_slot_ CF_GUARDED_BY(lock_) = 0;
  std::atomic<std::size_t> alive_{0};
  std::atomic<std::uint64_t> generation_{0};  // bumped whenever workers_ changes

  ForkServer server_;  // the socket is guarded by lock_ once the reply thread runs
  int doorbell_ = -1;  // eventfd: workers and kick() wake the sleeping reply thread
  std::atomic<std::uint64_t> kicks_{0};
  std::atomic<bool> thread_sleeping_{false};
  std::vector<WorkerProc*> snapshot_;  // the reply thread's copy of workers_
  std::uint64_t snapshot_generation_ = ~std::uint64_t{0};
  std::mutex join_mutex_;
  std::thread thread_;
};

void check_open(PoolCore& core) { core.check_open(); }

void submit_job(PoolCore& core, std::unique_ptr<Job> job) { core.submit(std::move(job)); }

std::exception_ptr argument_encoding_error(const char* callable) noexcept {
  try {
    return std::make_exception_ptr(SerializationError("could not serialize the arguments of a call to " +
                                                      demangle(callable) + ": " +
                                                      exception_text(std::current_exception())));
  } catch (...) {
    return std::current_exception();
  }
}

Job::~Job() {
  if (state == nullptr) return;
  if (!state->done() && !state->drop_cancelled()) {
    state->abandon(std::make_exception_ptr(BrokenProcessPool("cf::ProcessPoolExecutor: the call was dropped")));
  }
  state->release();
}

namespace testing {
void fail_spawns_after(int spawns) noexcept { spawns_until_failure.store(spawns, std::memory_order_relaxed); }
}  // namespace testing

}  // namespace concurrent::futures::detail::process

namespace concurrent::futures {

namespace {

std::size_t checked_max_workers(std::optional<int> max_workers) {
  if (!max_workers) return usable_cpu_count();
  if (*max_workers <= 0) throw std::invalid_argument("max_workers must be greater than 0");
  return static_cast<std::size_t>(*max_workers);
}

std::uint32_t checked_max_tasks(std::optional<int> max_tasks) {
  if (!max_tasks) return 0;
  if (*max_tasks <= 0) throw std::invalid_argument("max_tasks_per_child must be >= 1");
  return static_cast<std::uint32_t>(*max_tasks);
}

}  // namespace

ProcessPoolExecutor::ProcessPoolExecutor() : ProcessPoolExecutor(ProcessPoolOptions{}) {}

ProcessPoolExecutor::ProcessPoolExecutor(int max_workers)
    : ProcessPoolExecutor(ProcessPoolOptions{.max_workers = max_workers}) {}

ProcessPoolExecutor::ProcessPoolExecutor(ProcessPoolOptions options)
    : link_(std::make_shared<detail::process::PoolLink>()) {
  const std::size_t max_workers = checked_max_workers(options.max_workers);
  const std::uint32_t max_tasks = checked_max_tasks(options.max_tasks_per_child);
  core_ = std::make_shared<detail::process::PoolCore>(max_workers, max_tasks, std::move(options.initializer.message_));
  core_->start();
  detail::MutexLock lock(link_->mutex);
  link_->pool = this;
}

ProcessPoolExecutor::~ProcessPoolExecutor() {
  detach();
  {
    detail::MutexLock lock(link_->mutex);
    link_->pool = nullptr;
  }
  core_->shutdown(true, false);
}

void ProcessPoolExecutor::shutdown(bool wait, bool cancel_futures) { core_->shutdown(wait, cancel_futures); }

void ProcessPoolExecutor::terminate_workers() { force_shutdown(SIGTERM); }

void ProcessPoolExecutor::kill_workers() { force_shutdown(SIGKILL); }

void ProcessPoolExecutor::force_shutdown(int signal) { core_->force_shutdown(signal); }

std::size_t ProcessPoolExecutor::worker_count() const noexcept { return core_->worker_count(); }

std::size_t ProcessPoolExecutor::max_workers() const noexcept { return core_->max_workers(); }

void ProcessPoolExecutor::schedule(Task task) {
  task.cancel();
  throw std::logic_error(
      "cf::ProcessPoolExecutor: a call submitted through a cf::Executor& cannot cross to a worker process "
      "(its callable and arguments are type-erased C++ objects); call ProcessPoolExecutor::submit or map "
      "directly, which serialize the arguments");
}

}  // namespace concurrent::futures
