// The manager side of a pool whose workers are other processes (cf::ProcessPoolExecutor, the
// MPI executors): its jobs, their dispatch to workers, the workers' lives, the replies, the
// faults and the shutdown, written against a Transport (transport.hpp) that carries the
// messages. It owns one thread, the manager thread, which runs the transport's poll() and
// everything it reports; submit() runs in the caller's thread and, where the transport allows,
// writes the call straight to a worker.
//
// A worker's life (WorkerState::life), under the pool's lock:
//
//   kServing --(max calls dispatched, or the pool winds down and it is idle)--> kRetiring
//   kRetiring --(its last call answered, kQuit sent if it needs one)--> (exits) --> removed
//   any --(it died, its stream broke, or the pool broke)--> kDoomed --(exit reported)--> removed
//
// A worker that ends while it is kServing or with calls assigned, or with a non-zero status,
// breaks the pool: every pending and running future fails with its own Broken... exception.
//
// Futures complete on the manager thread, but never inside poll(): what the transport reports
// only queues outcomes (a reply, or a failure), and the thread delivers them after poll()
// returns, one at a time. The thread is its own WaitHelper, so a done-callback that waits for
// another call of this pool (result(), cf::wait, as_completed) keeps polling and delivering in
// that wait instead of blocking the only thread that could complete it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cfutures/detail/spin_lock.hpp"
#include "cfutures/detail/thread_annotations.hpp"
#include "cfutures/executor.hpp"
#include "remote/job.hpp"
#include "remote/transport.hpp"

namespace concurrent::futures::detail::remote {

// How a pool names its parts in the messages of its faults, and the exception it breaks with.
struct PoolVocabulary {
  const char* worker;       // "process" (A process in the process pool was terminated...)
  const char* child;        // "child process" (A child process terminated abruptly...)
  const char* pool;         // "process pool"
  const char* thread_name;  // the manager thread's name (15 characters at most)
  std::exception_ptr (*broken)(const std::string& what);
};

struct RemotePoolConfig {
  std::size_t max_workers = 1;
  std::uint32_t max_calls = 0;  // call messages per worker before it is replaced; 0: no limit
  std::string init;             // the kInit payload every worker gets first
  PoolVocabulary words;
};

class RemotePool final : public std::enable_shared_from_this<RemotePool>, private TransportEvents, private WaitHelper {
 public:
  RemotePool(RemotePoolConfig config, std::unique_ptr<Transport> transport);
  RemotePool(const RemotePool&) = delete;
  RemotePool& operator=(const RemotePool&) = delete;
  ~RemotePool();

  // Starts the manager thread. A failure breaks the pool (submit() reports it).
  void start();
  // Breaks the pool before it starts: `why` no worker can ever be started.
  void fail_to_start(const std::string& why);

  // Queues an encoded task for a worker. Throws the pool's Broken... exception once broken.
  void submit(Task task);
  // No new work from here (the executor's gate has drained); see Executor::shutdown.
  void shutdown(bool wait, bool cancel_futures);
  // Sends `signal` to every live worker (terminate_workers(), kill_workers()).
  void signal_workers(int signal);

  std::size_t worker_count() const noexcept { return alive_.load(std::memory_order_acquire); }
  std::size_t max_workers() const noexcept { return config_.max_workers; }

 private:
  enum class Life { kServing, kRetiring, kDoomed };
  struct WorkerState;
  // Why a pool broke: what each failed future says, and what later submits throw.
  struct Breakage {
    std::string future_message;
    std::string submit_message;
  };
  // How a job ends, queued by what poll() reports and delivered after it returns.
  struct Outcome {
    Job* job;
    WorkerId worker;      // that sent `reply`
    std::string reply;    // the reply's payload; unused if `failure` is set
    std::string failure;  // the broken pool's message for the future
  };

  // ---- dispatch (under the lock) ----
  bool dispatch_locked() CF_REQUIRES(lock_);
  WorkerState* pick_worker_locked(bool& started) CF_REQUIRES(lock_);
  WorkerState* start_worker_locked() CF_REQUIRES(lock_);
  bool flush_locked(WorkerState& w) CF_REQUIRES(lock_);
  bool write_locked(WorkerState& w, Kind kind, std::uint64_t id, std::string_view payload, SendProgress& progress,
                    bool& wrote) CF_REQUIRES(lock_);
  WorkerState* find_locked(WorkerId id) CF_REQUIRES(lock_);

  // ---- faults ----
  Breakage died(const std::string& how) const;
  Breakage not_started(const std::string& why) const;
  Breakage killed(const std::string& why) const;
  void set_broken_locked(Breakage breakage) CF_REQUIRES(lock_);
  void break_pool(Breakage breakage);
  void collect_jobs_locked(std::vector<Job*>& jobs) CF_REQUIRES(lock_);
  void fail_jobs(std::vector<Job*>& jobs, const std::string& message);
  void doom_worker(WorkerId id, const std::string& why);

  // ---- the manager thread ----
  void run();
  void poll_once(std::optional<std::chrono::steady_clock::time_point> deadline);
  void housekeeping();
  void deliver_all();
  void deliver(Outcome outcome);
  bool run_one_for(const StateBase& target) noexcept override;
  bool finished();
  void join();
  void kick() noexcept;

  // ---- what the transport reports (manager thread) ----
  void on_started(WorkerId worker, int pid) override;
  void on_start_failed(WorkerId worker, const std::string& why) override;
  void on_message(WorkerId worker, Kind kind, std::uint64_t id, std::string_view payload) override;
  void on_corrupt(WorkerId worker, const std::string& why) override;
  void on_writable(WorkerId worker) override;
  void on_exit(WorkerId worker, const WorkerEnd& end) override;
  void on_lost(const std::string& why) override;
  void on_reply(WorkerId worker, std::uint64_t id, std::string_view payload);

  const RemotePoolConfig config_;
  const std::unique_ptr<Transport> transport_;
  const bool direct_sends_;  // transport_->sends_from_any_thread()

  mutable SpinLock lock_;
  bool shutdown_ CF_GUARDED_BY(lock_) = false;
  Breakage broken_ CF_GUARDED_BY(lock_);  // empty messages while not broken
  std::deque<Job*> pending_ CF_GUARDED_BY(lock_);
  std::vector<std::unique_ptr<WorkerState>> workers_ CF_GUARDED_BY(lock_);
  std::atomic<std::uint64_t> next_job_{0};
  WorkerId next_worker_ CF_GUARDED_BY(lock_) = 0;
  std::atomic<std::size_t> alive_{0};

  // Manager thread only.
  std::deque<Outcome> outcomes_;
  bool polling_ = false;  // inside transport_->poll()

  std::mutex join_mutex_;
  std::thread thread_;
};

}  // namespace concurrent::futures::detail::remote
