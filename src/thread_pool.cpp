#include "cfutures/thread_pool.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <system_error>
#include <thread>
#include <vector>

#include "call_deadlines.hpp"
#include "cfutures/detail/futex.hpp"
#include "cfutures/detail/mutex.hpp"
#include "cfutures/detail/seg_queue.hpp"
#include "cfutures/detail/thread_annotations.hpp"
#include "pool_support.hpp"

namespace concurrent::futures {

namespace detail {

class ThreadPoolCore;

namespace {
// The pool whose worker the calling thread is (null in other threads).
thread_local const ThreadPoolCore* tl_worker_of = nullptr;
}  // namespace

// The pool's shared core. Workers hold it through a shared_ptr, so a pool destroyed by one of
// its own tasks stays intact until that task returns.
//
// Waking protocol (the reason the steady state makes no syscall): a worker with nothing to do
// spins (counted in spinning_) for a bounded window, then parks on the wake_epoch_ futex
// (counted in parked_). A submit wakes a parked worker only if nobody spins; a spinner that
// finds work wakes one more worker only if work remains and nobody else spins. Every
// counter change and queue check is seq_cst, so a task is never left with all workers asleep.
class ThreadPoolCore final : public std::enable_shared_from_this<ThreadPoolCore>, public WaitHelper {
 public:
  ThreadPoolCore(std::size_t max_workers, std::string prefix, std::function<void()> initializer)
      : max_workers_(max_workers), prefix_(std::move(prefix)), initializer_(std::move(initializer)) {}
  ThreadPoolCore(const ThreadPoolCore&) = delete;
  ThreadPoolCore& operator=(const ThreadPoolCore&) = delete;

  ~ThreadPoolCore() {
    cancel_queued();
    // Threads nobody joined: the pool was shut down (or destroyed) from one of its own tasks,
    // so the last worker to finish owns the core. Every other worker has returned from
    // worker_main (they each held a reference), so joining them is immediate.
    MutexLock lock(threads_mutex_);
    for (auto& t : threads_) {
      if (t.get_id() == std::this_thread::get_id()) {
        t.detach();
      } else {
        t.join();
      }
    }
  }

  // Queues a task. The executor's shutdown gate has admitted this submit, so shutdown() waits
  // for it to return before it closes the queue.
  void submit(Task& task) {
    if (broken_.load(std::memory_order_acquire)) throw BrokenThreadPool();
    // Take an idle worker's token before the push: once the task is queued, that worker may
    // pop it and withdraw its own token first, and this submit would then start a thread
    // although a worker was idle when it was called (CPython's test_idle_thread_reuse).
    const bool idle_worker = !saturated_.load(std::memory_order_relaxed) && take_idle_token();
    TaskNode* node = TaskAccess::release(task);
    node->set_queued_by(this);
    queue_.push(node);
    notify_new_task(idle_worker);
    if (broken_.load(std::memory_order_seq_cst)) fail_queued();
  }

  // Called once every admitted submit has returned (the executor drained its gate).
  void shutdown(bool wait, bool cancel_futures) {
    // Every accepted task is queued by now, and no later one will be: only from here may idle
    // workers exit (see closed()).
    closed_.store(true, std::memory_order_seq_cst);
    if (cancel_futures) {
      cancel_queued();
      request_stop_of_running();
    }
    wake_all();
    if (!wait) return;
    if (tl_worker_of == this) {
      wait_for_other_workers();  // a worker cannot join itself
    } else {
      join_all();
    }
  }

  std::size_t worker_count() const noexcept { return alive_.load(std::memory_order_acquire); }
  std::size_t max_workers() const noexcept { return max_workers_; }
  const std::string& prefix() const noexcept { return prefix_; }

 private:
  // A worker's lazy-start bookkeeping: it offers one "idle token" while available, which a
  // submit takes instead of starting a thread (Python's idle semaphore, without stale tokens).
  struct WorkerSlot {
    ThreadPoolCore* core;
    bool has_token = false;
    void offer_token() noexcept {
      if (!has_token && !core->saturated_.load(std::memory_order_relaxed)) {
        core->idle_tokens_.fetch_add(1, std::memory_order_acq_rel);
        has_token = true;
      }
    }
    void withdraw_token() noexcept {
      if (has_token) {
        has_token = false;
        core->take_idle_token();
      }
    }
  };

  bool take_idle_token() noexcept {
    int tokens = idle_tokens_.load(std::memory_order_acquire);
    while (tokens > 0 && !idle_tokens_.compare_exchange_weak(tokens, tokens - 1, std::memory_order_acq_rel)) {
    }
    return tokens > 0;
  }

  // `idle_worker`: the submit took an idle worker's token, so no thread needs to start.
  void notify_new_task(bool idle_worker) {
    // seq_cst loads after the seq_cst push: a worker that is about to park either is still
    // counted here or sees the task on its re-check (no fences: TSan does not model them).
    if (!idle_worker && !saturated_.load(std::memory_order_relaxed) && start_worker()) return;
    if (spinning_.load(std::memory_order_seq_cst) == 0 && parked_.load(std::memory_order_seq_cst) > 0) {
      wake_one();
    }
  }

  // Starts a worker unless max_workers are running; returns whether one started.
  bool start_worker() {
    std::uint32_t started;
    {
      MutexLock lock(threads_mutex_);
      if (started_ >= max_workers_) return false;
      const std::size_t index = started_;
      try {
        alive_.fetch_add(1, std::memory_order_acq_rel);
        threads_.emplace_back([self = shared_from_this(), index] { self->worker_main(index); });
      } catch (const std::exception& e) {
        alive_.fetch_sub(1, std::memory_order_acq_rel);
        if (alive_.load(std::memory_order_acquire) == 0) {
          // Nobody could run the queued tasks: fail them rather than hang (CPython gh-109047).
          std::fprintf(stderr, "cfutures: could not start a worker thread: %s\n", e.what());
          break_pool();
        }
        return false;
      }
      if (++started_ == max_workers_) saturated_.store(true, std::memory_order_relaxed);
      started = static_cast<std::uint32_t>(started_);
    }
    await_start(started);
    return true;
  }

  // Python's Thread.start() returns only once the new thread runs, and that thread then holds
  // the GIL until its task blocks; so in CPython a task submitted to a new worker has started
  // when submit() returns (the seed's "done() after sleep(5)" prints True). Waiting here for
  // the new worker to take its first task (or to reach its initializer) keeps that; it costs
  // the first max_workers submits one thread start-up each, and nothing afterwards.
  void await_start(std::uint32_t started) noexcept {
    auto ready = [&] { return workers_started_.load(std::memory_order_acquire) >= started; };
    if (spin_until(ready)) return;
    for (std::uint32_t seen; (seen = workers_started_.load(std::memory_order_acquire)) < started;) {
      futex_wait(workers_started_, seen);
    }
  }
  void announce_start() noexcept {
    workers_started_.fetch_add(1, std::memory_order_release);
    futex_wake_all(workers_started_);
  }

  void wake_one() noexcept {
    wake_epoch_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake(wake_epoch_, 1);
  }
  void wake_all() noexcept {
    wake_epoch_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(wake_epoch_);
  }

  // True once shutdown() has seen the last accepted submit finish pushing its task. Idle
  // workers exit only then: a worker that left as soon as shutdown began could leave a task
  // pushed by a submit admitted just before, with nobody to run it (its future would never
  // complete).
  bool closed() const noexcept { return closed_.load(std::memory_order_seq_cst); }

  // shutdown(wait=true) from outside the pool: joins every worker. A worker waiting in
  // wait_for_other_workers() takes no lock, so joining it cannot deadlock.
  void join_all() {
    MutexLock join_lock(join_mutex_);
    std::vector<std::thread> threads;
    {
      MutexLock lock(threads_mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  // shutdown(wait=true) from one of the pool's own tasks (or callbacks): waits until every
  // other worker has exited. A worker that waits here too counts as done (it leaves once its
  // own task returns), so two tasks shutting their pool down at once do not wait for each
  // other. The threads are joined later by a shutdown from outside, by the destructor, or
  // (when the pool was destroyed by its own task) by the last worker's ~ThreadPoolCore.
  void wait_for_other_workers() noexcept {
    in_task_waiters_.fetch_add(1, std::memory_order_seq_cst);
    for (;;) {
      const std::uint32_t epoch = exits_.load(std::memory_order_seq_cst);
      if (alive_.load(std::memory_order_seq_cst) <= in_task_waiters_.load(std::memory_order_seq_cst)) break;
      futex_wait(exits_, epoch);
    }
    in_task_waiters_.fetch_sub(1, std::memory_order_seq_cst);
  }

  void on_worker_exit() noexcept {
    alive_.fetch_sub(1, std::memory_order_seq_cst);
    exits_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(exits_);
  }

  void name_this_thread(std::size_t index) const {
    // Linux allows 15 characters: cut the prefix, keep "_<index>".
    std::string suffix = "_";
    suffix.append(std::to_string(index));
    std::string name = prefix_.substr(0, suffix.size() < 15 ? 15 - suffix.size() : 0);
    name.append(suffix);
    name.resize(std::min<std::size_t>(name.size(), 15));
    pthread_setname_np(pthread_self(), name.c_str());
  }

  void worker_main(std::size_t index) {
    tl_worker_of = this;
    current_wait_helper() = this;
    name_this_thread(index);
    TaskNode* first = nullptr;  // usually the task whose submit started this worker
    if (!initializer_) {
      queue_.pop(first);
      announce_start();
    } else {
      announce_start();  // submit() does not wait for the initializer (neither does CPython)
      try {
        initializer_();
      } catch (...) {
        report_initializer_error(describe_exception(std::current_exception()));
        break_pool();
        on_worker_exit();
        return;
      }
    }
    WorkerSlot slot{this};
    for (;;) {
      TaskNode* task = std::exchange(first, nullptr);
      if (task == nullptr && !queue_.pop(task)) {
        slot.offer_token();
        task = wait_for_task();
        if (task == nullptr) break;
      }
      slot.withdraw_token();
      PublishHook hook;
      if (!saturated_.load(std::memory_order_relaxed)) {
        hook = PublishHook{[](void* s) noexcept { static_cast<WorkerSlot*>(s)->offer_token(); }, &slot};
      }
      run_task(*task, hook);
      task->release();
    }
    on_worker_exit();
  }

  // A wait inside one of this pool's tasks on a call still queued here runs queued tasks (in
  // queue order, up to and including that call) instead of blocking, so nested submit-and-wait
  // cannot deadlock the pool, even with one worker.
  bool run_one_for(const StateBase& target) noexcept override {
    if (target.phase() != kPending) return false;  // running elsewhere, or done
    const auto* node = dynamic_cast<const TaskNode*>(&target);
    if (node == nullptr || node->queued_by() != this) return false;
    TaskNode* task = nullptr;
    if (!queue_.pop(task)) return false;  // another worker took it a moment ago
    run_task(*task, {});
    task->release();
    return true;
  }

  void run_task(TaskNode& task, PublishHook hook) {
    if (task.stoppable() || task.options().timeout) {
      run_watched(task, hook);
    } else {
      task.run(hook);
    }
  }

  // Runs a task whose call takes a stop token or has a timeout: while it runs, shutdown with
  // cancel_futures can ask it to stop, and its deadline is armed.
  void run_watched(TaskNode& task, PublishHook hook) {
    if (task.stoppable()) {
      MutexLock lock(stops_mutex_);
      running_stops_.emplace_back(&task, task.stop_source());
    }
    std::optional<CallDeadlines::Ticket> ticket;
    if (const auto timeout = task.options().timeout) {
      try {
        ticket = deadlines_.arm(task, *timeout);
      } catch (...) {  // the timer thread could not start: the call cannot keep its promise
        task.fail(std::current_exception());
      }
    }
    task.run(hook);
    if (ticket) deadlines_.disarm(*ticket);
    if (task.stoppable()) {
      MutexLock lock(stops_mutex_);
      std::erase_if(running_stops_, [&](const auto& entry) { return entry.first == &task; });
    }
  }

  // shutdown(cancel_futures=true): the running calls that take a token are asked to stop.
  void request_stop_of_running() {
    std::vector<std::stop_source> sources;
    {
      MutexLock lock(stops_mutex_);
      for (const auto& entry : running_stops_) sources.push_back(entry.second);
    }
    for (auto& source : sources) source.request_stop();  // outside the lock: it runs stop callbacks
  }

  // Spins, then parks, until a task arrives (returned) or the pool shuts down with an empty
  // queue (nullptr).
  TaskNode* wait_for_task() {
    TaskNode* task = nullptr;
    spinning_.fetch_add(1, std::memory_order_seq_cst);
    for (;;) {
      for (int i = 1; i <= kSpinLimit; ++i) {
        if (queue_.pop(task)) {
          spinning_.fetch_sub(1, std::memory_order_seq_cst);
          wake_helper_if_needed();
          return task;
        }
        if (closed() && queue_.empty()) {
          spinning_.fetch_sub(1, std::memory_order_seq_cst);
          return nullptr;
        }
        if (i % kYieldEvery == 0) {
          yield_now();
        } else {
          cpu_relax();
        }
      }
      const std::uint32_t epoch = wake_epoch_.load(std::memory_order_seq_cst);
      parked_.fetch_add(1, std::memory_order_seq_cst);
      spinning_.fetch_sub(1, std::memory_order_seq_cst);
      if (queue_.pop(task)) {
        parked_.fetch_sub(1, std::memory_order_seq_cst);
        wake_helper_if_needed();
        return task;
      }
      if (closed() && queue_.empty()) {
        parked_.fetch_sub(1, std::memory_order_seq_cst);
        return nullptr;
      }
      futex_wait(wake_epoch_, epoch);
      spinning_.fetch_add(1, std::memory_order_seq_cst);
      parked_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  // Called by a worker that stopped spinning because it found a task: if more work is queued
  // and nobody else spins, wake a parked worker so the work runs in parallel.
  void wake_helper_if_needed() noexcept {
    if (!queue_.empty() && spinning_.load(std::memory_order_seq_cst) == 0 &&
        parked_.load(std::memory_order_seq_cst) > 0) {
      wake_one();
    }
  }

  void break_pool() noexcept {
    broken_.store(true, std::memory_order_seq_cst);
    fail_queued();
  }

  void fail_queued() noexcept {
    TaskNode* task;
    while (queue_.pop(task)) {
      try {
        task->fail(std::make_exception_ptr(BrokenThreadPool()));
      } catch (...) {  // make_exception_ptr cannot really fail; be safe in a noexcept path
      }
      task->release();
    }
  }

  void cancel_queued() noexcept {
    TaskNode* task;
    while (queue_.pop(task)) {
      task->cancel();
      task->release();
    }
  }

  SegQueue<TaskNode*> queue_;
  std::atomic<bool> closed_{false};  // see closed()
  alignas(64) std::atomic<int> spinning_{0};
  std::atomic<int> parked_{0};
  std::atomic<std::uint32_t> wake_epoch_{0};  // futex word of parked workers
  alignas(64) std::atomic<int> idle_tokens_{0};
  std::atomic<bool> saturated_{false};
  std::atomic<bool> broken_{false};
  std::atomic<std::size_t> alive_{0};
  std::atomic<std::uint32_t> workers_started_{0};  // futex word: workers that announced their start
  std::atomic<std::size_t> in_task_waiters_{0};    // workers in wait_for_other_workers()
  std::atomic<std::uint32_t> exits_{0};            // futex word: bumped when a worker exits

  Mutex join_mutex_;
  Mutex threads_mutex_;
  std::vector<std::thread> threads_ CF_GUARDED_BY(threads_mutex_);
  std::size_t started_ CF_GUARDED_BY(threads_mutex_) = 0;

  const std::size_t max_workers_;
  const std::string prefix_;
  const std::function<void()> initializer_;

  Mutex stops_mutex_;
  // The running calls that take a stop token, and their stop sources.
  std::vector<std::pair<const TaskNode*, std::stop_source>> running_stops_ CF_GUARDED_BY(stops_mutex_);
  CallDeadlines deadlines_{prefix_.substr(0, 9) + "_timer"};
};

}  // namespace detail

namespace {

std::string default_prefix() {
  static std::atomic<unsigned> pools{0};
  return "ThreadPoolExecutor-" + std::to_string(pools.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace

ThreadPoolExecutor::ThreadPoolExecutor() : ThreadPoolExecutor(ThreadPoolOptions{}) {}

ThreadPoolExecutor::ThreadPoolExecutor(int max_workers)
    : ThreadPoolExecutor(ThreadPoolOptions{.max_workers = max_workers}) {}

ThreadPoolExecutor::ThreadPoolExecutor(ThreadPoolOptions options) {
  const std::size_t max_workers =
      detail::checked_max_workers(options.max_workers, std::min<std::size_t>(32, usable_cpu_count() + 4));
  std::string prefix = options.thread_name_prefix.empty() ? default_prefix() : std::move(options.thread_name_prefix);
  core_ = std::make_shared<detail::ThreadPoolCore>(max_workers, std::move(prefix), std::move(options.initializer));
}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  detach();
  shutdown(true);
}

void ThreadPoolExecutor::on_shutdown(bool wait, bool cancel_futures) {
  drain_submits();
  core_->shutdown(wait, cancel_futures);
}

std::size_t ThreadPoolExecutor::worker_count() const noexcept { return core_->worker_count(); }
std::size_t ThreadPoolExecutor::max_workers() const noexcept { return core_->max_workers(); }
const std::string& ThreadPoolExecutor::thread_name_prefix() const noexcept { return core_->prefix(); }

void ThreadPoolExecutor::schedule(Task task) { core_->submit(task); }

}  // namespace concurrent::futures
