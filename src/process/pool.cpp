// cf::ProcessPoolExecutor: a RemotePool (remote/remote_pool.hpp) over the shared-memory
// transport (process/shm_transport.hpp), with the process pool's words for its faults.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cfutures/process_pool.hpp"
#include "pool_support.hpp"
#include "process/forkserver.hpp"
#include "process/forkserver_client.hpp"
#include "process/inheritance.hpp"
#include "process/shm_transport.hpp"
#include "remote/remote_pool.hpp"

namespace concurrent::futures {

namespace {

std::uint32_t checked_max_tasks(std::optional<int> max_tasks) {
  if (!max_tasks) return 0;
  if (*max_tasks <= 0) throw std::invalid_argument("max_tasks_per_child must be >= 1");
  return static_cast<std::uint32_t>(*max_tasks);
}

std::exception_ptr broken_process_pool(const std::string& what) {
  return std::make_exception_ptr(BrokenProcessPool(what));
}

constexpr detail::remote::PoolVocabulary kWords{"process", "child process", "process pool", "cf-process-pool",
                                                &broken_process_pool};

// Keeps a pool a forked child abandoned: never destroyed in the child (its threads, workers and
// channels are the parent's), and reachable, so that LeakSanitizer does not count it.
void abandon(std::shared_ptr<detail::remote::RemotePool> core) {
  static std::mutex mutex;
  static auto* abandoned = new std::vector<std::shared_ptr<detail::remote::RemotePool>>;
  const std::lock_guard lock(mutex);
  abandoned->push_back(std::move(core));
}

}  // namespace

ProcessPoolExecutor::ProcessPoolExecutor() : ProcessPoolExecutor(ProcessPoolOptions{}) {}

ProcessPoolExecutor::ProcessPoolExecutor(int max_workers)
    : ProcessPoolExecutor(ProcessPoolOptions{.max_workers = max_workers}) {}

// What a pool needs to start its workers, kept by a pool created during static initialization
// until its first use.
struct ProcessPoolExecutor::Start {
  detail::remote::RemotePoolConfig config;
  std::size_t max_workers = 0;
  std::once_flag once;
  std::atomic<bool> done{false};  // core_ is set
};

ProcessPoolExecutor::ProcessPoolExecutor(ProcessPoolOptions options)
    : Executor(Workers::kInOtherProcesses), start_(std::make_unique<Start>()), owner_(getpid()) {
  detail::process::fork_server_entry_linked();  // keeps the fork server's entry in the program
  // A global pool is destroyed at the program's exit, and must be before the early server is
  // (or its workers would die under it): the record of the early server is made first.
  detail::process::outlive_early_server();
  detail::remote::RemotePoolConfig& config = start_->config;
  config.max_workers = detail::checked_max_workers(options.max_workers, usable_cpu_count());
  config.max_calls = checked_max_tasks(options.max_tasks_per_child);
  config.words = kWords;
  start_->max_workers = config.max_workers;
  detail::remote::InitMessage init;
  detail::process::capture_inherited_state(init.inherited);
  init.max_calls = config.max_calls;
  init.initializer = options.initializer.message();
  detail::remote::encode_init(init, config.init);
  // During static initialization (a namespace-scope or static pool) the early fork server does
  // not exist yet, and a fork server completing the program's static initialization creates
  // the program's global pools too: the workers start at the first use.
  if (detail::process::process_role() == detail::process::ProcessRole::kProgram) start();
}

void ProcessPoolExecutor::start() {
  std::call_once(start_->once, [this] {
    std::unique_ptr<detail::remote::Transport> transport;
    std::string failure;
    try {
      transport = std::make_unique<detail::process::ShmTransport>();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    core_ = std::make_shared<detail::remote::RemotePool>(std::move(start_->config), std::move(transport));
    if (failure.empty()) {
      core_->start();
    } else {
      core_->fail_to_start(failure);
    }
    start_->done.store(true, std::memory_order_release);
  });
}

bool ProcessPoolExecutor::started() const noexcept { return start_->done.load(std::memory_order_acquire); }

ProcessPoolExecutor::~ProcessPoolExecutor() {
  detach();
  if (getpid() != owner_) {
    // Only the thread that forked exists here: the copy's manager thread, workers and fork
    // server are the parent's, so there is nothing to join, kill or tell.
    abandon(std::move(core_));
    return;
  }
  shutdown(true);
}

void ProcessPoolExecutor::check_owner() const {
  if (getpid() == owner_) return;
  throw BrokenProcessPool("this ProcessPoolExecutor belongs to process " + std::to_string(owner_) +
                          "; a forked child cannot use it: create a new pool in the child");
}

void ProcessPoolExecutor::schedule(Task task) {
  check_owner();
  if (!started()) {
    if (detail::process::process_role() != detail::process::ProcessRole::kProgram) {
      throw BrokenProcessPool(
          "a ProcessPoolExecutor cannot run calls during the program's static initialization (its fork "
          "server does not exist yet): submit from main(), or from code main() calls");
    }
    start();
  }
  if (TaskAccess::peek(task)->encoded() == nullptr) {
    task.fail(std::make_exception_ptr(std::logic_error(
        "cf::ProcessPoolExecutor: a task that was not serialized for another process reached schedule()")));
    return;
  }
  core_->submit(std::move(task));
}

void ProcessPoolExecutor::on_shutdown(bool wait, bool cancel_futures) {
  check_owner();
  drain_submits();
  if (started()) core_->shutdown(wait, cancel_futures);  // else nothing was started
}

void ProcessPoolExecutor::terminate_workers() { force_shutdown(SIGTERM); }

void ProcessPoolExecutor::kill_workers() { force_shutdown(SIGKILL); }

void ProcessPoolExecutor::force_shutdown(int signal) {
  check_owner();
  shutdown(false, true);
  if (started()) core_->signal_workers(signal);
}

std::size_t ProcessPoolExecutor::worker_count() const noexcept { return started() ? core_->worker_count() : 0; }

std::size_t ProcessPoolExecutor::max_workers() const noexcept { return start_->max_workers; }

}  // namespace concurrent::futures
