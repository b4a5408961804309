// Google Benchmark micro-benchmarks of the compositions, with heap allocations
// counted by a replaced global operator new (allocs_per_item, bytes_per_item):
//
//   BM_ThenOnDoneFuture       one then() on a future already done (fn runs at once)
//   BM_ThenChainPending/N     N thens attached to a pending future, then set_result (the whole
//                             chain runs inside it, through the trampoline)
//   BM_WhenAllPending/N       when_all over N pending futures, then each completed
//   BM_AwaitRoundTrip         co_await pool.submit(ident, i) in a loop inside a coroutine
//   BM_ResultRoundTrip        pool.submit(ident, i).result() in a loop (the same pool size)
//
// Reproduce (Release build, from the repository root):
//   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCFUTURES_BUILD_TESTS=OFF
//         -DCFUTURES_BUILD_EXAMPLES=OFF
//   cmake --build build-bench -j2 --target compose_bench
//   build-bench/bench/compose_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cfutures/cfutures.hpp>
#include <vector>

#include "common/alloc_count.hpp"

namespace cf = concurrent::futures;

namespace {

// What was allocated between its construction and report(), less what excluded() was told.
struct AllocCount {
  long allocs = bench::allocations_so_far();
  long bytes = bench::bytes_allocated_so_far();
  template <class Fn>
  void excluded(Fn&& fn) {
    const long a0 = bench::allocations_so_far();
    const long b0 = bench::bytes_allocated_so_far();
    fn();
    allocs += bench::allocations_so_far() - a0;
    bytes += bench::bytes_allocated_so_far() - b0;
  }
  // Sets allocs_per_item and bytes_per_item.
  void report(benchmark::State& state, double items) const {
    state.counters["allocs_per_item"] = static_cast<double>(bench::allocations_so_far() - allocs) / items;
    state.counters["bytes_per_item"] = static_cast<double>(bench::bytes_allocated_so_far() - bytes) / items;
  }
};

int ident(int x) { return x; }

void BM_ThenOnDoneFuture(benchmark::State& state) {
  cf::Future<int> done;
  done.set_result(1);
  const AllocCount count;
  for (auto _ : state) {
    cf::Future<int> g = done.then([](int x) { return x + 1; });
    benchmark::DoNotOptimize(g.result());
  }
  count.report(state, static_cast<double>(state.iterations()));
}
BENCHMARK(BM_ThenOnDoneFuture);

void BM_ThenChainPending(benchmark::State& state) {
  const auto n = state.range(0);
  long links = 0;
  const AllocCount count;
  for (auto _ : state) {
    cf::Future<int> start;
    cf::Future<int> last = start;
    for (long i = 0; i < n; ++i) last = last.then([](int x) { return x + 1; });
    start.set_result(0);
    benchmark::DoNotOptimize(last.result());
    links += n;
  }
  count.report(state, static_cast<double>(links));
  state.SetItemsProcessed(links);
}
BENCHMARK(BM_ThenChainPending)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

void BM_WhenAllPending(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  long inputs = 0;
  AllocCount count;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<cf::Future<int>> fs;
    count.excluded([&] { fs.resize(n); });  // the inputs themselves are not the when_all's cost
    state.ResumeTiming();
    auto all = cf::when_all(fs);
    for (std::size_t i = 0; i < n; ++i) fs[i].set_result(static_cast<int>(i));
    benchmark::DoNotOptimize(all.result().size());
    inputs += static_cast<long>(n);
  }
  count.report(state, static_cast<double>(inputs));
  state.SetItemsProcessed(inputs);
}
BENCHMARK(BM_WhenAllPending)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

cf::Future<long long> await_loop(cf::ThreadPoolExecutor& pool, long m) {
  long long sum = 0;
  for (long i = 0; i < m; ++i) sum += co_await pool.submit(ident, static_cast<int>(i));
  co_return sum;
}

constexpr long kRoundTrips = 10000;

void BM_AwaitRoundTrip(benchmark::State& state) {
  cf::ThreadPoolExecutor pool(2);
  await_loop(pool, 1000).result();
  const AllocCount count;
  for (auto _ : state) benchmark::DoNotOptimize(await_loop(pool, kRoundTrips).result());
  count.report(state, static_cast<double>(state.iterations() * kRoundTrips));
  state.SetItemsProcessed(state.iterations() * kRoundTrips);
}
BENCHMARK(BM_AwaitRoundTrip)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ResultRoundTrip(benchmark::State& state) {
  cf::ThreadPoolExecutor pool(2);
  for (int i = 0; i < 1000; ++i) pool.submit(ident, i).result();
  const AllocCount count;
  for (auto _ : state) {
    long long sum = 0;
    for (long i = 0; i < kRoundTrips; ++i) sum += pool.submit(ident, static_cast<int>(i)).result();
    benchmark::DoNotOptimize(sum);
  }
  count.report(state, static_cast<double>(state.iterations() * kRoundTrips));
  state.SetItemsProcessed(state.iterations() * kRoundTrips);
}
BENCHMARK(BM_ResultRoundTrip)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
