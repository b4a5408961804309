// oneTBB, three ways a TBB user would do this work:
//   --system tbb_arena         task_arena(W, 0) + enqueue + std::promise: a future per task
//   --system tbb_group         task_group::run per task into a result slot, then wait(); no
//                              futures (the caller's thread helps while it waits)
//   --system tbb_parallel_for  (map only) parallel_for over the input, auto-chunked
// global_control lets TBB start W workers (by default it starts one fewer than the CPUs).
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <future>
#include <memory>

#include "../common/workloads.hpp"

using namespace bench;

namespace {

struct ArenaPool : GetByGet {
  tbb::global_control control;
  tbb::task_arena arena;
  explicit ArenaPool(int workers)
      : control(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers) + 1),
        arena(workers, 0) {
    arena.initialize();
  }
  template <class F, class A>
  auto submit(F* fn, A arg) {
    auto promise = std::make_shared<std::promise<decltype(fn(arg))>>();
    auto future = promise->get_future();
    arena.enqueue([promise, fn, arg] { promise->set_value(fn(arg)); });
    return future;
  }
  template <class F>
  void post(F fn) {
    arena.enqueue(std::move(fn));
  }
};

// W workers plus a slot for the caller, which runs tasks while it waits.
struct GroupArena {
  tbb::global_control control;
  tbb::task_arena arena;
  explicit GroupArena(int workers)
      : control(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers) + 1),
        arena(workers + 1, 1) {
    arena.initialize();
  }
};

// (1)/(3)/(8) without futures: run N tasks into result slots, wait, read the slots.
void group_run_all(const Args& args, Report& report, long default_n) {
  const long n = args.num("n", default_n);
  const std::vector<int> xs = iota_ints(n);
  std::vector<int> out(xs.size());
  GroupArena g(args.workers());
  Clock::time_point t0, t1, t2;
  long long sum = 0;
  g.arena.execute([&] {
    tbb::task_group warm;
    for (long i = 0; i < kWarmup; ++i) warm.run([] { consume(0); });
    warm.wait();
    tbb::task_group group;
    t0 = Clock::now();
    for (std::size_t i = 0; i < xs.size(); ++i) group.run([&xs, &out, i] { out[i] = ident(xs[i]); });
    t1 = Clock::now();
    group.wait();
    for (int r : out) sum += r;
    t2 = Clock::now();
  });
  consume(sum);
  report_throughput(report, args, n, t0, t1, t2);
}

void parallel_for_map(const Args& args, Report& report) {
  const long n = args.num("n", 1000000);
  const std::vector<int> xs = iota_ints(n);
  std::vector<int> out(xs.size());
  GroupArena g(args.workers());
  Clock::time_point t0, t1;
  long long sum = 0;
  g.arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, 1000), [](auto&) { consume(0); });  // warm
    t0 = Clock::now();
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, xs.size()), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t i = r.begin(); i != r.end(); ++i) out[i] = ident(xs[i]);
    });
    for (int r : out) sum += r;
    t1 = Clock::now();
  });
  consume(sum);
  report.set("n", static_cast<double>(n))
      .set("tasks_per_s", static_cast<double>(n) / seconds_between(t0, t1))
      .set("peak_rss_mb", peak_rss_bytes() / 1e6);
}

void group_is_prime(const Args& args, Report& report) {
  report_is_prime(report, [&] {
    std::vector<char> flags(std::size(kPrimes));
    GroupArena g(args.workers());
    g.arena.execute([&] {
      tbb::task_group group;
      for (std::size_t i = 0; i < flags.size(); ++i) group.run([&flags, i] { flags[i] = is_prime(kPrimes[i]); });
      group.wait();
    });
    return std::vector<bool>(flags.begin(), flags.end());
  });
}

}  // namespace

int main(int argc, char** argv) {
  const std::string system = Args(argc, argv).str("system", "tbb_arena");
  Registry registry;
  if (system == "tbb_arena") {
    add_future_workloads<ArenaPool>(registry);
  } else if (system == "tbb_group") {
    registry["throughput"] = [](const Args& a, Report& r) { group_run_all(a, r, 200000); };
    registry["scaling"] = registry["throughput"];
    registry["map"] = [](const Args& a, Report& r) { group_run_all(a, r, 1000000); };
    registry["is_prime"] = group_is_prime;
  } else if (system == "tbb_parallel_for") {
    registry["map"] = parallel_for_map;
  }
  return run_main(argc, argv, system, registry);
}
