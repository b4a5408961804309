#include "remote/remote_pool.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "cfutures/errors.hpp"

namespace concurrent::futures::detail::remote {

namespace {

// Calls a worker may hold at once (sent, not yet answered): the next call waits in its ring
// while it runs one, so a busy worker never idles waiting for the manager thread.
constexpr std::size_t kWorkerDepth = 2;

}  // namespace

struct RemotePool::WorkerState {
  WorkerId id = 0;
  Life life = Life::kServing;
  int pid = 0;
  std::deque<Job*> assigned;  // sent or being sent, in order; replies come in this order
  std::size_t unsent = 0;     // index in `assigned` of the first job not wholly written
  SendProgress progress;      // of assigned[unsent]
  bool init_sent = false;
  SendProgress init_progress;
  bool quit_due = false;  // the pool winds down and the worker is idle: a kQuit is to be sent
  bool quit_sent = false;
  std::uint32_t dispatched = 0;
  std::string init_failure;  // "std::runtime_error: boom", from kInitFailed
};

RemotePool::RemotePool(RemotePoolConfig config, std::unique_ptr<Transport> transport)
    : config_(std::move(config)),
      transport_(std::move(transport)),
      direct_sends_(transport_ != nullptr && transport_->sends_from_any_thread()) {}

RemotePool::~RemotePool() {
  for (Job* job : pending_) delete job;
  for (Outcome& outcome : outcomes_) delete outcome.job;
}

void RemotePool::start() {
  try {
    thread_ = std::thread([self = shared_from_this()] { self->run(); });
  } catch (const std::exception& e) {
    fail_to_start(e.what());
  }
}

void RemotePool::fail_to_start(const std::string& why) {
  SpinGuard guard(lock_);
  set_broken_locked(not_started(why));
}

void RemotePool::submit(Task task) {
  TaskNode* node = TaskAccess::release(task);
  node->set_queued_by(this);  // a wait on it in a done-callback polls instead (run_one_for)
  auto job = std::make_unique<Job>(node, next_job_.fetch_add(1, std::memory_order_relaxed) + 1);
  bool wrote = false;
  std::string broken;
  {
    SpinGuard guard(lock_);
    if (broken_.submit_message.empty()) {
      pending_.push_back(job.release());
      if (direct_sends_) wrote = dispatch_locked();
    } else {
      broken = broken_.submit_message;
    }
  }
  if (!broken.empty()) std::rethrow_exception(config_.words.broken(broken));  // ~Job cancels the future
  if (wrote || !direct_sends_) kick();
}

void RemotePool::shutdown(bool wait, bool cancel_futures) {
  std::deque<Job*> cancelled;
  {
    SpinGuard guard(lock_);
    shutdown_ = true;
    if (cancel_futures) cancelled.swap(pending_);
  }
  for (Job* job : cancelled) delete job;  // ~Job cancels the pending futures
  kick();
  if (wait) join();
}

void RemotePool::signal_workers(int signal) {
  {
    SpinGuard guard(lock_);
    for (auto& w : workers_) transport_->kill(w->id, signal);
  }
  kick();
}

// ---- Dispatch ------------------------------------------------------------------------------

bool RemotePool::dispatch_locked() {
  bool wrote = false;
  while (!pending_.empty() && broken_.future_message.empty()) {
    bool started = false;
    WorkerState* worker = pick_worker_locked(started);
    if (worker == nullptr) break;
    wrote = started || wrote;
    Job* job = pending_.front();
    pending_.pop_front();
    if (!job->start()) {
      delete job;  // its future was cancelled
      continue;
    }
    worker->assigned.push_back(job);
    if (config_.max_calls != 0 && ++worker->dispatched >= config_.max_calls) worker->life = Life::kRetiring;
    wrote = flush_locked(*worker) || wrote;
  }
  return wrote;
}

// An idle worker; else a new one while fewer than max_workers exist; else the least loaded
// one with room; else nullptr.
RemotePool::WorkerState* RemotePool::pick_worker_locked(bool& started) {
  WorkerState* best = nullptr;
  for (auto& w : workers_) {
    if (w->life != Life::kServing) continue;
    if (w->assigned.empty()) return w.get();
    if (w->assigned.size() < kWorkerDepth && (best == nullptr || w->assigned.size() < best->assigned.size())) {
      best = w.get();
    }
  }
  if (workers_.size() < config_.max_workers) {
    if (WorkerState* fresh = start_worker_locked()) {
      started = true;
      return fresh;
    }
  }
  return best;
}

RemotePool::WorkerState* RemotePool::start_worker_locked() {
  auto worker = std::make_unique<WorkerState>();
  worker->id = next_worker_++;
  try {
    transport_->start(worker->id);
  } catch (const std::exception& e) {
    set_broken_locked(not_started(e.what()));
    return nullptr;
  }
  workers_.push_back(std::move(worker));
  alive_.fetch_add(1, std::memory_order_acq_rel);
  return workers_.back().get();
}

// Writes what fits of the worker's unsent messages: its kInit, its calls, a kQuit once due.
// Returns true if it wrote anything.
bool RemotePool::flush_locked(WorkerState& w) {
  bool wrote = false;
  while (w.life != Life::kDoomed) {
    if (!w.init_sent) {
      if (!write_locked(w, Kind::kInit, 0, config_.init, w.init_progress, wrote)) break;
      w.init_sent = true;
    } else if (w.unsent < w.assigned.size()) {
      Job* job = w.assigned[w.unsent];
      if (!write_locked(w, Kind::kCall, job->id(), job->call().message, w.progress, wrote)) break;
      ++w.unsent;
      w.progress = {};
      std::string().swap(job->call().message);  // a big argument is freed as soon as it is sent
    } else if (w.quit_due && !w.quit_sent) {
      SendProgress quit;
      if (!write_locked(w, Kind::kQuit, 0, {}, quit, wrote)) break;
      w.quit_sent = true;
    } else {
      break;
    }
  }
  return wrote;
}

// One send; false if the message is not wholly written (the rest waits for on_writable, or
// the worker's stream broke and it is doomed). Sets `wrote` if any of it was written.
bool RemotePool::write_locked(WorkerState& w, Kind kind, std::uint64_t id, std::string_view payload,
                              SendProgress& progress, bool& wrote) {
  const std::size_t before = progress.offset;
  const bool started = progress.started;
  const SendStatus status = transport_->send(w.id, kind, id, payload, progress);
  if (progress.offset != before || progress.started != started) wrote = true;
  if (status == SendStatus::kDone) return true;
  if (status == SendStatus::kBroken) {
    w.life = Life::kDoomed;
    transport_->kill(w.id, SIGKILL);
    set_broken_locked(killed("its request stream broke"));
  }
  return false;
}

RemotePool::WorkerState* RemotePool::find_locked(WorkerId id) {
  for (auto& w : workers_) {
    if (w->id == id) return w.get();
  }
  return nullptr;
}

// ---- Faults ----------------------------------------------------------------------------

RemotePool::Breakage RemotePool::died(const std::string& how) const {
  const PoolVocabulary& v = config_.words;
  return {std::string("A ") + v.worker + " in the " + v.pool +
              " was terminated abruptly while the future was running or pending (" + how + ")",
          std::string("A ") + v.child + " terminated abruptly, the " + v.pool + " is not usable anymore (" + how + ")"};
}

RemotePool::Breakage RemotePool::not_started(const std::string& why) const {
  const PoolVocabulary& v = config_.words;
  const std::string subject = std::string("A ") + v.worker + " in the " + v.pool + " could not be started";
  return {subject + " (" + why + ")", subject + ", the " + v.pool + " is not usable anymore (" + why + ")"};
}

RemotePool::Breakage RemotePool::killed(const std::string& why) const {
  const PoolVocabulary& v = config_.words;
  const std::string subject = std::string("A ") + v.worker + " in the " + v.pool + " was killed because " + why;
  return {subject + " while the future was running or pending", subject + ", the " + v.pool + " is not usable anymore"};
}

void RemotePool::set_broken_locked(Breakage breakage) {
  if (!broken_.future_message.empty()) return;
  broken_ = std::move(breakage);
}

// Fails every pending and running future, each with its own exception, and kills the workers.
void RemotePool::break_pool(Breakage breakage) {
  std::vector<Job*> jobs;
  std::string message;
  {
    SpinGuard guard(lock_);
    set_broken_locked(std::move(breakage));
    message = broken_.future_message;
    collect_jobs_locked(jobs);
    for (auto& w : workers_) {
      w->life = Life::kDoomed;
      transport_->kill(w->id, SIGKILL);
    }
  }
  fail_jobs(jobs, message);
}

void RemotePool::collect_jobs_locked(std::vector<Job*>& jobs) {
  jobs.insert(jobs.end(), pending_.begin(), pending_.end());
  pending_.clear();
  for (auto& w : workers_) {
    jobs.insert(jobs.end(), w->assigned.begin(), w->assigned.end());
    w->assigned.clear();
    w->unsent = 0;
  }
}

void RemotePool::fail_jobs(std::vector<Job*>& jobs, const std::string& message) {
  for (Job* job : jobs) outcomes_.push_back(Outcome{job, 0, {}, message});
  jobs.clear();
}

// Kills a worker that broke the protocol, and breaks the pool.
void RemotePool::doom_worker(WorkerId id, const std::string& why) {
  {
    SpinGuard guard(lock_);
    if (WorkerState* w = find_locked(id)) w->life = Life::kDoomed;
    transport_->kill(id, SIGKILL);
  }
  break_pool(killed(why));
}

// ---- The manager thread ------------------------------------------------------------------

void RemotePool::run() {
  pthread_setname_np(pthread_self(), config_.words.thread_name);
  current_wait_helper() = this;
  for (;;) {
    poll_once(std::nullopt);
    deliver_all();
    if (finished()) break;
  }
  transport_->close();
}

void RemotePool::poll_once(std::optional<std::chrono::steady_clock::time_point> deadline) {
  polling_ = true;
  transport_->poll(*this, deadline);
  polling_ = false;
  housekeeping();
}

// One at a time from the front, so a callback's wait that delivers more (run_one_for) finds
// the queue as it should be.
void RemotePool::deliver_all() {
  while (!outcomes_.empty()) {
    Outcome outcome = std::move(outcomes_.front());
    outcomes_.pop_front();
    deliver(std::move(outcome));
  }
}

void RemotePool::deliver(Outcome outcome) {
  std::unique_ptr<Job> job(outcome.job);
  if (!outcome.failure.empty()) {
    job->fail(config_.words.broken(outcome.failure));
    return;
  }
  try {
    job->complete(outcome.reply);
  } catch (const MalformedMessage& e) {
    doom_worker(outcome.worker, e.what());
    std::string message;
    {
      SpinGuard guard(lock_);
      message = broken_.future_message;
    }
    job->fail(config_.words.broken(message));
  }
}

// A wait in this thread (a done-callback's) on a call of this pool that is not done: poll and
// deliver a little, then let the waiter look again. The short poll keeps a timed wait's
// deadline within a few milliseconds.
bool RemotePool::run_one_for(const StateBase& target) noexcept {
  if (polling_ || target.done()) return false;
  const auto* node = dynamic_cast<const TaskNode*>(&target);
  if (node == nullptr || node->queued_by() != this) return false;
  if (outcomes_.empty()) poll_once(std::chrono::steady_clock::now() + std::chrono::milliseconds(5));
  if (!outcomes_.empty()) {
    Outcome outcome = std::move(outcomes_.front());
    outcomes_.pop_front();
    deliver(std::move(outcome));
  }
  return true;
}

// Fails the jobs of a broken pool; dispatches for a transport that sends only from here; once
// shut down and drained, tells idle workers to quit.
void RemotePool::housekeeping() {
  std::vector<Job*> doomed;
  std::string message;
  {
    SpinGuard guard(lock_);
    if (!broken_.future_message.empty()) {
      if (!pending_.empty() ||
          std::any_of(workers_.begin(), workers_.end(), [](auto& w) { return !w->assigned.empty(); })) {
        collect_jobs_locked(doomed);
        message = broken_.future_message;
      }
    } else {
      if (!direct_sends_) dispatch_locked();
      if (shutdown_ && pending_.empty()) {
        for (auto& w : workers_) {
          if (w->life == Life::kDoomed || !w->assigned.empty() || w->quit_due) continue;
          w->life = Life::kRetiring;
          w->quit_due = true;
          flush_locked(*w);
        }
      }
    }
  }
  fail_jobs(doomed, message);
}

bool RemotePool::finished() {
  SpinGuard guard(lock_);
  if (!workers_.empty()) return false;
  return !broken_.future_message.empty() || (shutdown_ && pending_.empty());
}

void RemotePool::join() {
  std::lock_guard lock(join_mutex_);
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // shutdown from a done-callback: this thread ends by itself
  } else {
    thread_.join();
  }
}

void RemotePool::kick() noexcept {
  if (transport_ != nullptr) transport_->wake();
}

// ---- What the transport reports ------------------------------------------------------------

void RemotePool::on_started(WorkerId worker, int pid) {
  SpinGuard guard(lock_);
  if (WorkerState* w = find_locked(worker)) w->pid = pid;
}

void RemotePool::on_start_failed(WorkerId worker, const std::string& why) {
  break_pool(not_started(why));
  on_exit(worker, WorkerEnd{why, false});
}

void RemotePool::on_message(WorkerId worker, Kind kind, std::uint64_t id, std::string_view payload) {
  if (kind == Kind::kReply) {
    on_reply(worker, id, payload);
  } else if (kind == Kind::kInitFailed) {
    std::string description;
    if (!decode_init_failed(payload, description)) {
      doom_worker(worker, "it sent a malformed initializer error");
      return;
    }
    SpinGuard guard(lock_);
    if (WorkerState* w = find_locked(worker)) w->init_failure = std::move(description);
  } else {
    doom_worker(worker, "it sent a message of a kind it may not send");
  }
}

void RemotePool::on_reply(WorkerId worker, std::uint64_t id, std::string_view payload) {
  Job* job = nullptr;
  {
    SpinGuard guard(lock_);
    WorkerState* w = find_locked(worker);
    if (w != nullptr && !w->assigned.empty() && w->unsent > 0 && w->assigned.front()->id() == id) {
      job = w->assigned.front();
      w->assigned.pop_front();
      --w->unsent;
      dispatch_locked();  // the next call goes out before this reply is decoded
    }
  }
  if (job == nullptr) {
    doom_worker(worker, "it replied to a call it was not sent");
    return;
  }
  outcomes_.push_back(Outcome{job, worker, std::string(payload), {}});
}

void RemotePool::on_corrupt(WorkerId worker, const std::string& why) {
  {
    SpinGuard guard(lock_);
    if (WorkerState* w = find_locked(worker)) w->life = Life::kDoomed;
  }
  break_pool(killed(why));
}

void RemotePool::on_writable(WorkerId worker) {
  SpinGuard guard(lock_);
  if (WorkerState* w = find_locked(worker)) flush_locked(*w);
}

void RemotePool::on_exit(WorkerId worker, const WorkerEnd& end) {
  bool planned;
  std::string init_failure;
  {
    SpinGuard guard(lock_);
    WorkerState* w = find_locked(worker);
    if (w == nullptr) return;
    planned = end.clean && w->assigned.empty() && w->life == Life::kRetiring && broken_.future_message.empty();
    init_failure = w->init_failure;
  }
  if (!planned) {
    std::string how = end.how;
    if (!init_failure.empty()) how += ": its initializer threw " + init_failure;
    break_pool(died(how));
  }
  {
    SpinGuard guard(lock_);
    auto it = std::find_if(workers_.begin(), workers_.end(), [&](auto& w) { return w->id == worker; });
    if (it != workers_.end()) {
      workers_.erase(it);
      alive_.fetch_sub(1, std::memory_order_acq_rel);
    }
    dispatch_locked();  // a replacement may start now
  }
  transport_->forget(worker);
}

void RemotePool::on_lost(const std::string& why) { break_pool(died(why)); }

}  // namespace concurrent::futures::detail::remote
