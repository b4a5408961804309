// Google Benchmark micro-benchmarks of cfutures' ThreadPoolExecutor:
//
//   BM_Throughput/N     submit N no-op tasks, keep the futures, then read every result;
//                       items_per_second is tasks through futures per second (2 workers)
//   BM_RoundTripWarm    one submit + result() while the worker is awake (it just finished
//                       the previous task and is still in its spin window)
//   BM_RoundTripCold    the same after 2 ms idle, so the worker has parked on its futex and
//                       the submit must wake it
//
// Reproduce (Release build, from the repository root):
//   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCFUTURES_BUILD_TESTS=OFF
//         -DCFUTURES_BUILD_EXAMPLES=OFF
//   cmake --build build-bench -j2 --target core_bench
//   build-bench/bench/core_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cfutures/cfutures.hpp>
#include <chrono>
#include <thread>
#include <vector>

namespace cf = concurrent::futures;

namespace {

int ident(int x) { return x; }

void warm(cf::ThreadPoolExecutor& pool) {
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 1000; ++i) fs.push_back(pool.submit(ident, i));
  for (auto& f : fs) benchmark::DoNotOptimize(f.result());
}

void BM_Throughput(benchmark::State& state) {
  const auto n = static_cast<int>(state.range(0));
  cf::ThreadPoolExecutor pool(2);
  warm(pool);
  std::vector<cf::Future<int>> futures;
  futures.reserve(static_cast<std::size_t>(n));
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) futures.push_back(pool.submit(ident, i));
    long long sum = 0;
    for (auto& f : futures) sum += f.result();
    benchmark::DoNotOptimize(sum);
    state.PauseTiming();
    futures.clear();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Throughput)->Arg(10000)->Arg(200000)->Unit(benchmark::kMillisecond)->UseRealTime();

void round_trip(benchmark::State& state, std::chrono::microseconds idle) {
  cf::ThreadPoolExecutor pool(2);
  warm(pool);
  int i = 0;
  for (auto _ : state) {
    if (idle.count() > 0) std::this_thread::sleep_for(idle);
    const auto t0 = std::chrono::steady_clock::now();
    auto f = pool.submit(ident, ++i);
    benchmark::DoNotOptimize(f.result());
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
}

void BM_RoundTripWarm(benchmark::State& state) { round_trip(state, std::chrono::microseconds(0)); }
BENCHMARK(BM_RoundTripWarm)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_RoundTripCold(benchmark::State& state) { round_trip(state, std::chrono::microseconds(2000)); }
BENCHMARK(BM_RoundTripCold)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(500);

}  // namespace

BENCHMARK_MAIN();
