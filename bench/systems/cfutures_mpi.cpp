// cfutures' MPI executors in the comparison (bench/compare, the `mpi` group), beside
// mpi4py.futures (bench/python/mpi4py_peer.py), with the same workloads:
//
//   mpiexec -n 2 cf_bench_cfutures_mpi --workload rtt|throughput|map_chunked   # MPICommExecutor
//   mpiexec -n 3 cf_bench_cfutures_mpi --workload is_prime                     # two worker ranks
//   cf_bench_cfutures_mpi --workload rtt_spawn|start                           # MPIPoolExecutor, spawned
//
// Rank 0 prints the JSON report; the ranks that served exit quietly once rank 0's executor ends.
#include <cfutures/cfutures.hpp>
#include <cfutures/mpi.hpp>
#include <cstdlib>
#include <utility>

#include "cfutures_pool.hpp"

namespace cf = concurrent::futures;
using namespace bench;

namespace {

// The ranks of mpiexec's job as workers of rank 0. On the other ranks the constructor serves
// until rank 0's executor shuts down, and then the process ends: only rank 0 runs a workload.
class WorldExecutor : public cf::MPICommExecutor {
 public:
  explicit WorldExecutor(int /*workers: the job's ranks decide*/) : cf::MPICommExecutor(MPI_COMM_WORLD, 0) {
    if (!*this) std::exit(served_status());
  }
};

using CommPool = CfPool<WorldExecutor>;
using SpawnPool = CfPool<cf::MPIPoolExecutor>;

// map(ident, N items, chunksize=C), read in order.
void map_chunked(const Args& args, Report& report) {
  const long n = args.num("n", 1000000);
  const long chunksize = args.num("chunksize", 1000);
  const std::vector<int> xs = iota_ints(n);
  CommPool pool(0);
  warm_up(pool, args);
  cf::MapOptions options;
  options.chunksize = static_cast<std::size_t>(chunksize);
  long long sum = 0;
  const auto t0 = Clock::now();
  for (int r : pool.executor.map(ident, xs, options)) sum += r;
  const auto t1 = Clock::now();
  consume(sum);
  report.set("n", static_cast<double>(n))
      .set("chunksize", static_cast<double>(chunksize))
      .set("tasks_per_s", static_cast<double>(n) / seconds_between(t0, t1));
}

// MPIPoolExecutor(1) from construction to its first result (the rank is spawned), then its shutdown.
void start_to_first_result(const Args&, Report& report) {
  const auto t0 = Clock::now();
  cf::MPIPoolExecutor pool(1);
  const int r = pool.submit(ident, 1).result();
  const auto t1 = Clock::now();
  pool.shutdown(true);
  const auto t2 = Clock::now();
  consume(r);
  report.set("start_ms", seconds_between(t0, t1) * 1e3).set("shutdown_ms", seconds_between(t1, t2) * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  Registry registry;
  registry["rtt"] = [](const Args& a, Report& r) { round_trip<CommPool>(a, r, false); };
  registry["rtt_spawn"] = [](const Args& a, Report& r) { round_trip<SpawnPool>(a, r, false); };
  registry["throughput"] = [](const Args& a, Report& r) { submit_all_then_get<CommPool>(a, r, 20000); };
  registry["map_chunked"] = map_chunked;
  registry["is_prime"] = is_prime_map<WorldExecutor>;
  registry["start"] = start_to_first_result;
  return run_main(argc, argv, "cfutures_mpi", registry);
}
