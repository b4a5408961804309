// cfutures' ProcessPoolExecutor in the comparison (bench/compare): the shared future workloads
// (free functions cross to the workers by identity, arguments and results by value), plus
// map with chunksize, start-up to the first result, and the seed is_prime program.
// Process pools warm up with 200 tasks (bench/compare passes --warmup 200), as Python's do.
#include <cfutures/cfutures.hpp>
#include <cfutures/process_pool.hpp>
#include <utility>

#include "cfutures_pool.hpp"

namespace cf = concurrent::futures;
using namespace bench;

namespace {

using Pool = CfPool<cf::ProcessPoolExecutor>;

// (3) map(ident, N items, chunksize=C), read in order.
void map_chunked(const Args& args, Report& report) {
  const long n = args.num("n", 1000000);
  const long chunksize = args.num("chunksize", 1);
  const std::vector<int> xs = iota_ints(n);
  Pool pool(args.workers());
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

// Construction to first result, and the shutdown after it, in ms.
std::pair<double, double> start_and_stop_ms(int workers) {
  const auto t0 = Clock::now();
  cf::ProcessPoolExecutor pool(workers);
  const int r = pool.submit(ident, 1).result();
  const auto t1 = Clock::now();
  pool.shutdown(true);
  const auto t2 = Clock::now();
  consume(r);
  return {seconds_between(t0, t1) * 1e3, seconds_between(t1, t2) * 1e3};
}

// (5) construct the pool, submit one task, read its result; then shut down. The first pool of
// the process (on the early fork server, forked before main()); then one that starts a fork
// server of its own, as every pool did before the early server (own_server_start_ms).
void start_to_first_result(const Args& args, Report& report) {
  const auto [start, shutdown] = start_and_stop_ms(args.workers());
  const std::string own = run_self({"--workload", "start_only", "--workers", std::to_string(args.workers())}, true);
  report.set("start_ms", start).set("shutdown_ms", shutdown).set("own_server_start_ms", json_number(own, "start_ms"));
}

// The first pool's start alone (run by start_to_first_result without the early fork server).
void start_only(const Args& args, Report& report) { report.set("start_ms", start_and_stop_ms(args.workers()).first); }

}  // namespace

int main(int argc, char** argv) {
  Registry registry;
  registry["throughput"] = [](const Args& a, Report& r) { submit_all_then_get<Pool>(a, r, 20000); };
  registry["rtt"] = [](const Args& a, Report& r) { round_trip<Pool>(a, r, false); };
  registry["rtt_cold"] = [](const Args& a, Report& r) { round_trip<Pool>(a, r, true); };
  registry["map_chunked"] = map_chunked;
  registry["start"] = start_to_first_result;
  registry["start_only"] = start_only;
  registry["is_prime"] = is_prime_map<cf::ProcessPoolExecutor>;
  return run_main(argc, argv, "cfutures_pp", registry);
}
