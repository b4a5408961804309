// The process pool's five numbers, each next to Python's on the same machine:
//
//   1. round trip (submit one no-op, wait for it): busy workers, and from idle
//   2. N tiny submits, then every result: tasks/s
//   3. map(chunksize=1000) over 200k items: items/s
//   4. pool construction to first result: ms (on the early fork server; with a fork server of
//      the pool's own; and what the early server adds to the program's start and exit)
//   5. the docs' is_prime example (six numbers, two workers, pool start included): ms, and
//      its ratio to the same work on two C++ threads
//
// Build and run (Release):
//   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DCFUTURES_BUILD_EXAMPLES=OFF
//   cmake --build build-rel -j2 --target cf_process_pool_bench
//   build-rel/bench/cf_process_pool_bench [--rounds N]
// Each number is the median over the rounds (default 5), with min-max in brackets. Within a
// round, the start is the median of 10 pool starts and the map the median of 3 maps (the
// first map of a process also pays for growing the heap).
#include <algorithm>
#include <cfutures/cfutures.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/bench.hpp"

namespace cf = concurrent::futures;
using Clock = std::chrono::steady_clock;

namespace {

int ident(int x) { return x; }

bool is_prime(long long n) {
  if (n < 2) return false;
  if (n == 2) return true;
  if (n % 2 == 0) return false;
  const auto limit = static_cast<long long>(std::floor(std::sqrt(static_cast<double>(n))));
  for (long long i = 3; i <= limit; i += 2) {
    if (n % i == 0) return false;
  }
  return true;
}

const std::vector<long long> kPrimes = {112272535095293, 112582705942171, 112272535095293,
                                        115280095190773, 115797848077099, 1099726899285419};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Stat {
  double median, min, max;
};
Stat summarize(const std::vector<double>& v) {
  return {median(v), *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
}

// Median round trip in microseconds; `pause` between calls lets everything fall asleep.
double round_trip_us(cf::ProcessPoolExecutor& pool, int calls, std::chrono::microseconds pause) {
  std::vector<double> samples;
  samples.reserve(calls);
  for (int i = 0; i < calls; ++i) {
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
    const auto start = Clock::now();
    pool.submit(ident, i).result();
    samples.push_back(seconds_since(start) * 1e6);
  }
  return median(samples);
}

double submit_throughput(cf::ProcessPoolExecutor& pool, int n) {
  std::vector<cf::Future<int>> futures;
  futures.reserve(n);
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) futures.push_back(pool.submit(ident, i));
  long long sum = 0;
  for (auto& f : futures) sum += f.result();
  futures.clear();
  const double t = seconds_since(start);
  if (sum != static_cast<long long>(n) * (n - 1) / 2) std::abort();
  return n / t;
}

double map_throughput(cf::ProcessPoolExecutor& pool, int n, std::size_t chunksize) {
  std::vector<int> input(n);
  for (int i = 0; i < n; ++i) input[i] = i;
  const auto start = Clock::now();
  long long sum = 0;
  for (int r : pool.map(ident, input, cf::MapOptions{.chunksize = chunksize})) sum += r;
  const double t = seconds_since(start);
  if (sum != static_cast<long long>(n) * (n - 1) / 2) std::abort();
  return n / t;
}

// Median of `pools` pool starts (construction, first submit, its result), on the early fork
// server or (own_server) each pool with a fork server of its own.
double start_to_first_result_ms(int pools, bool own_server) {
  if (own_server) {
    return std::stod(bench::run_self({"--start-ms", std::to_string(pools)}, true));
  }
  std::vector<double> samples;
  for (int i = 0; i < pools; ++i) {
    const auto start = Clock::now();
    cf::ProcessPoolExecutor pool(2);
    pool.submit(ident, 1).result();
    samples.push_back(seconds_since(start) * 1e3);
  }
  return median(samples);
}

// What the early fork server adds to the program's own start and exit: the median wall time of
// running this program with "--exit" (main returns at once) with the server, minus without it
// (CFUTURES_EARLY_FORK_SERVER=0), over `runs` alternated pairs.
double early_server_cost_ms(int runs) {
  auto run_ms = [](bool early) {
    const auto start = Clock::now();
    bench::run_self({"--exit"}, !early);
    return seconds_since(start) * 1e3;
  };
  std::vector<double> with, without;
  for (int i = 0; i < runs; ++i) {
    with.push_back(run_ms(true));
    without.push_back(run_ms(false));
  }
  return median(with) - median(without);
}

// The docs example: map is_prime over the six numbers with a two-worker pool, pool start
// included (a process pool, or the thread pool as the reference).
template <class Pool>
double is_prime_ms() {
  const auto start = Clock::now();
  int primes = 0;
  {
    Pool pool(2);
    for (bool p : pool.map(is_prime, kPrimes)) primes += p ? 1 : 0;
  }
  const double t = seconds_since(start) * 1e3;
  if (primes != 5) std::abort();
  return t;
}

void print(const char* what, Stat s, const char* unit, const char* python, const char* target) {
  std::printf("%-44s %12.4g %-8s [%.4g-%.4g]   Python %-10s target %s\n", what, s.median, unit, s.min, s.max, python,
              target);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--exit") == 0) return 0;  // for early_server_cost_ms
  if (argc == 3 && std::strcmp(argv[1], "--start-ms") == 0) {      // for start_to_first_result_ms
    std::printf("%.17g\n", start_to_first_result_ms(std::atoi(argv[2]), false));
    return 0;
  }
  int rounds = 5;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  std::vector<double> rtt_busy, rtt_idle, submits, mapped, start, start_own, startup_cost, primes, primes_threads,
      ratio;
  for (int r = 0; r < rounds; ++r) {
    start.push_back(start_to_first_result_ms(10, false));
    start_own.push_back(start_to_first_result_ms(10, true));
    startup_cost.push_back(early_server_cost_ms(10));
    {
      cf::ProcessPoolExecutor pool(2);
      for (int i = 0; i < 200; ++i) pool.submit(ident, i).result();  // warm up, as the baseline does
      rtt_busy.push_back(round_trip_us(pool, 20000, std::chrono::microseconds(0)));
      rtt_idle.push_back(round_trip_us(pool, 200, std::chrono::microseconds(3000)));
      submits.push_back(submit_throughput(pool, 20000));
      std::vector<double> maps;  // the first map also pays for growing the heap: take the median of 3
      for (int i = 0; i < 3; ++i) maps.push_back(map_throughput(pool, 200000, 1000));
      mapped.push_back(median(maps));
    }
    const double p = is_prime_ms<cf::ProcessPoolExecutor>();
    const double t = is_prime_ms<cf::ThreadPoolExecutor>();
    primes.push_back(p);
    primes_threads.push_back(t);
    ratio.push_back(p / t);
  }
  std::printf("cf::ProcessPoolExecutor(2), %d rounds, %u usable CPUs\n", rounds,
              static_cast<unsigned>(cf::usable_cpu_count()));
  print("round trip, workers busy", summarize(rtt_busy), "us", "528 us", "<= 10 us");
  print("round trip, from idle", summarize(rtt_idle), "us", "528 us", "<= 150 us");
  print("N = 20000 tiny submits, then results", summarize(submits), "tasks/s", "3.8k/s", ">= 200k/s");
  print("map(chunksize=1000), 200k items", summarize(mapped), "items/s", "1.15M/s", ">= 10M/s");
  print("construction to first result", summarize(start), "ms", "17 ms", "<= 2 ms");
  print("  the same, each pool with its own server", summarize(start_own), "ms", "-", "-");
  print("  early server's cost to program start+exit", summarize(startup_cost), "ms", "-", "-");
  print("is_prime, 2 processes (start included)", summarize(primes), "ms", "1012 ms", "<= 1.1x 2 threads");
  print("is_prime, 2 threads (reference)", summarize(primes_threads), "ms", "-", "-");
  print("is_prime processes / threads", summarize(ratio), "x", "-", "<= 1.1");
  return 0;
}
