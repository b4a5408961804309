// cf::MPIPoolExecutor and cf::MPICommExecutor: a RemotePool (remote/remote_pool.hpp) over worker
// ranks (worker.hpp) through the rank transport (rank_transport.hpp), with the MPI pool's words
// for its faults.
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cfutures/mpi.hpp"
#include "engine.hpp"
#include "pool_support.hpp"
#include "rank_transport.hpp"
#include "remote/remote_pool.hpp"
#include "worker.hpp"

namespace concurrent::futures {

namespace {

namespace mpi = detail::mpi;
namespace remote = detail::remote;

std::exception_ptr broken_mpi_pool(const std::string& what) { return std::make_exception_ptr(BrokenMPIPool(what)); }

constexpr remote::PoolVocabulary kWords{"worker rank", "worker rank", "MPI pool", "cf-mpi-pool", &broken_mpi_pool};

// Whether mpiexec (OpenMPI's or MPICH's) started this process: then the death of any rank of the
// job, spawned ones included, ends the whole job, so no rank may be signalled.
bool started_by_launcher() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr ||
         std::getenv("PMI_RANK") != nullptr;
}

remote::RemotePoolConfig pool_config(std::size_t workers, const ProcessInitializer& initializer) {
  remote::RemotePoolConfig config;
  config.max_workers = workers;
  config.words = kWords;
  remote::InitMessage init;
  init.initializer = initializer.message();
  remote::encode_init(init, config.init);
  return config;
}

std::size_t universe_workers(mpi::Engine& engine) {
  const int universe = engine.run([] {
    int* value = nullptr;
    int flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &value, &flag);
    return flag != 0 && value != nullptr ? *value : 0;
  });
  return universe > 1 ? static_cast<std::size_t>(universe - 1) : 1;
}

std::chrono::milliseconds checked_start_timeout(std::chrono::milliseconds timeout) {
  if (timeout <= std::chrono::milliseconds::zero()) throw std::invalid_argument("start_timeout must be > 0");
  return timeout;
}

}  // namespace

// ---- MPIPoolExecutor -----------------------------------------------------------------------

struct MPIPoolExecutor::Ranks {
  std::shared_ptr<mpi::Engine> engine;
  std::size_t max_workers = 1;
  ProcessInitializer initializer;
  std::chrono::milliseconds start_timeout{};

  std::mutex mutex;  // boot() and the end
  bool closed = false;
  std::string failure;                           // why the spawn failed, if it did
  std::unique_ptr<mpi::SpawnedWorkers> workers;  // destroyed after the pool
  std::shared_ptr<remote::RemotePool> pool;
  std::atomic<remote::RemotePool*> started{nullptr};
  std::atomic<std::size_t> spawned{0};

  // Spawns the ranks and starts the pool over them, once; a failure makes a pool that is broken
  // from the start (its submits throw BrokenMPIPool saying why). Null once the executor shut
  // down without having booted.
  remote::RemotePool* boot() {
    std::lock_guard lock(mutex);
    if (pool || closed) return pool.get();
    auto config = pool_config(max_workers, initializer);
    std::unique_ptr<remote::Transport> transport;
    try {
      workers = std::make_unique<mpi::SpawnedWorkers>(engine, static_cast<int>(max_workers), mpi::this_program(),
                                                      start_timeout);
      transport = std::make_unique<mpi::RankTransport>(engine, workers->ranks(), !started_by_launcher());
      spawned.store(max_workers, std::memory_order_release);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    pool = std::make_shared<remote::RemotePool>(std::move(config), std::move(transport));
    failure.empty() ? pool->start() : pool->fail_to_start(failure);
    started.store(pool.get(), std::memory_order_release);
    return pool.get();
  }
};

MPIPoolExecutor::MPIPoolExecutor() : MPIPoolExecutor(MPIPoolOptions{}) {}

MPIPoolExecutor::MPIPoolExecutor(int max_workers) : MPIPoolExecutor(MPIPoolOptions{.max_workers = max_workers}) {}

MPIPoolExecutor::MPIPoolExecutor(MPIPoolOptions options) : ranks_(std::make_unique<Ranks>()) {
  detail::checked_max_workers(options.max_workers, 1);  // bad arguments are refused before MPI starts
  ranks_->start_timeout = checked_start_timeout(options.start_timeout);
  ranks_->engine = mpi::Engine::acquire();
  ranks_->max_workers = detail::checked_max_workers(options.max_workers, universe_workers(*ranks_->engine));
  ranks_->initializer = std::move(options.initializer);
}

MPIPoolExecutor::~MPIPoolExecutor() {
  detach();
  shutdown(true);
  std::lock_guard lock(ranks_->mutex);
  ranks_->pool.reset();
  ranks_->workers.reset();  // kStop to every rank, then MPI_Comm_disconnect
}

MPIPoolExecutor& MPIPoolExecutor::bootup() {
  ranks_->boot();
  std::lock_guard lock(ranks_->mutex);
  if (!ranks_->failure.empty())
    throw BrokenMPIPool("A worker rank in the MPI pool could not be started (" + ranks_->failure + ")");
  return *this;
}

std::size_t MPIPoolExecutor::num_workers() const noexcept { return ranks_->spawned.load(std::memory_order_acquire); }

std::size_t MPIPoolExecutor::max_workers() const noexcept { return ranks_->max_workers; }

remote::RemotePool& MPIPoolExecutor::pool_for_submit() {
  // Submits that passed the gate are drained before on_shutdown closes the ranks, so a closed
  // executor is only seen here by a submit that raced shutdown().
  if (remote::RemotePool* pool = ranks_->boot()) return *pool;
  throw ExecutorShutdown();
}

remote::RemotePool* MPIPoolExecutor::started_pool() noexcept { return ranks_->started.load(std::memory_order_acquire); }

void MPIPoolExecutor::on_shutdown(bool wait, bool cancel_futures) {
  drain_submits();
  {
    std::lock_guard lock(ranks_->mutex);
    ranks_->closed = true;  // no spawn after this
  }
  RemoteExecutor::on_shutdown(wait, cancel_futures);
}

// ---- MPICommExecutor -----------------------------------------------------------------------

struct MPICommExecutor::Ranks {
  std::shared_ptr<mpi::Engine> engine;
  MPI_Comm comm = MPI_COMM_NULL;  // the duplicate
  std::unique_ptr<mpi::WorkerRanks> workers;
  std::shared_ptr<remote::RemotePool> pool;

  ~Ranks() {
    pool.reset();
    if (workers) workers->stop(std::chrono::seconds(10));  // releases the serving ranks
    workers.reset();
    if (comm != MPI_COMM_NULL) {
      try {
        engine->run([this] { MPI_Comm_free(&comm); });
      } catch (const std::exception&) {  // the engine stopped: the process is exiting
      }
    }
  }
};

namespace {

struct CommShape {
  int size = 0;
  int rank = 0;
  int inter = 0;  // MPI's flag
};

}  // namespace

MPICommExecutor::MPICommExecutor(MPI_Comm comm, int root, std::chrono::milliseconds start_timeout) {
  if (comm == MPI_COMM_NULL) throw std::invalid_argument("cf::MPICommExecutor: comm is MPI_COMM_NULL");
  checked_start_timeout(start_timeout);
  auto engine = mpi::Engine::acquire();
  const CommShape shape = engine->run([comm] {
    CommShape s;
    MPI_Comm_test_inter(comm, &s.inter);
    MPI_Comm_size(comm, &s.size);
    MPI_Comm_rank(comm, &s.rank);
    return s;
  });
  if (shape.inter != 0) throw std::invalid_argument("cf::MPICommExecutor: comm is an intercommunicator");
  if (shape.size < 2) {
    throw std::invalid_argument("cf::MPICommExecutor: comm has " + std::to_string(shape.size) +
                                " rank, so there is no worker (run the program with mpiexec -n N, N >= 2, or "
                                "use cf::MPIPoolExecutor, which spawns its workers)");
  }
  if (root < 0 || root >= shape.size) {
    throw std::invalid_argument("cf::MPICommExecutor: root " + std::to_string(root) + " is not a rank of comm (0.." +
                                std::to_string(shape.size - 1) + ")");
  }
  auto ranks = std::make_unique<Ranks>();
  ranks->engine = engine;
  engine->run([&] { mpi::check_mpi(MPI_Comm_dup(comm, &ranks->comm), "MPI_Comm_dup"); });
  if (shape.rank != root) {
    served_status_ = mpi::serve_manager(*engine, ranks->comm, root);
    shutdown(false);  // nothing to submit to here
    return;           // ~Ranks frees the duplicate
  }
  std::vector<int> others;
  for (int r = 0; r < shape.size; ++r) {
    if (r != root) others.push_back(r);
  }
  ranks->workers = std::make_unique<mpi::WorkerRanks>(engine, ranks->comm, std::move(others));
  ranks->workers->await_hellos(start_timeout);  // on failure ~Ranks stops the ranks
  auto transport = std::make_unique<mpi::RankTransport>(engine, *ranks->workers, false);
  ranks->pool = std::make_shared<remote::RemotePool>(pool_config(static_cast<std::size_t>(shape.size - 1), {}),
                                                     std::move(transport));
  ranks->pool->start();
  ranks_ = std::move(ranks);
}

MPICommExecutor::~MPICommExecutor() {
  detach();
  shutdown(true);
  ranks_.reset();
}

std::size_t MPICommExecutor::num_workers() const noexcept { return ranks_ ? ranks_->workers->ranks().size() : 0; }

remote::RemotePool& MPICommExecutor::pool_for_submit() {
  if (!ranks_) {
    throw std::logic_error(
        "cf::MPICommExecutor: only the root rank can submit (this rank served the root's calls; test the executor "
        "with `if (pool)` first)");
  }
  return *ranks_->pool;
}

remote::RemotePool* MPICommExecutor::started_pool() noexcept { return ranks_ ? ranks_->pool.get() : nullptr; }

}  // namespace concurrent::futures
