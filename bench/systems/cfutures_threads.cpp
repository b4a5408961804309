// cfutures' ThreadPoolExecutor in the comparison (bench/compare): the shared future workloads
// plus map, as_completed, wait(FIRST_COMPLETED), the bounded (buffersize) map and the compose
// group (then, when_all, co_await).
#include <cfutures/cfutures.hpp>

#include "../common/compose.hpp"
#include "cfutures_pool.hpp"

namespace cf = concurrent::futures;
using namespace bench;

namespace {

using Pool = CfPool<cf::ThreadPoolExecutor>;

// (3) map over N items, read in order (cf::MapOptions left at its defaults, or with
// --buffersize B the lazy bounded map over a never-materialised input: (7) peak RSS).
void map_items(const Args& args, Report& report) {
  const long n = args.num("n", 1000000);
  const long buffersize = args.num("buffersize", 0);
  Pool pool(args.workers());
  warm_up(pool, args);
  long long sum = 0;
  const std::vector<int> xs = iota_ints(buffersize == 0 ? n : 0);
  const auto t0 = Clock::now();
  if (buffersize == 0) {
    for (int r : pool.executor.map(ident, xs)) sum += r;
  } else {
    cf::MapOptions options;
    options.buffersize = static_cast<std::size_t>(buffersize);
    for (int r : pool.executor.map(ident, Counting(n), options)) sum += r;
  }
  const auto t1 = Clock::now();
  consume(sum);
  report.set("n", static_cast<double>(n))
      .set("buffersize", static_cast<double>(buffersize))
      .set("tasks_per_s", static_cast<double>(n) / seconds_between(t0, t1))
      .set("peak_rss_mb", peak_rss_bytes() / 1e6);
}

// (4) submit N tasks, then read them through as_completed.
void as_completed_items(const Args& args, Report& report) {
  const long n = args.num("n", 100000);
  Pool pool(args.workers());
  warm_up(pool, args);
  std::vector<cf::Future<int>> futures;
  futures.reserve(static_cast<std::size_t>(n));
  const auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) futures.push_back(pool.executor.submit(ident, static_cast<int>(i)));
  long long sum = 0;
  for (cf::Future<int> f : cf::as_completed(futures)) sum += f.result();
  const auto t1 = Clock::now();
  consume(sum);
  report.set("n", static_cast<double>(n)).set("tasks_per_s", static_cast<double>(n) / seconds_between(t0, t1));
}

// (4) one wait(FIRST_COMPLETED) over N futures (made with Future(), as Python's tests do).
// "done_last": only the last one is done, so the call scans them all and returns at once.
// "timeout": none is done; the call registers on all, sleeps --timeout_us, and unregisters.
void wait_first(const Args& args, Report& report, bool timeout) {
  const long n = args.num("n", 100000);
  const long timeout_us = args.num("timeout_us", 1000);
  const int reps = static_cast<int>(args.num("reps", 5));
  std::vector<double> ms;
  std::size_t done_count = 0;
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<cf::Future<int>> futures(static_cast<std::size_t>(n));
    if (!timeout) futures.back().set_result(1);
    const auto t0 = Clock::now();
    auto result = timeout ? cf::wait(futures, std::chrono::microseconds(timeout_us), cf::FIRST_COMPLETED)
                          : cf::wait(futures, cf::FIRST_COMPLETED);
    ms.push_back(seconds_between(t0, Clock::now()) * 1e3);
    done_count = result.done.size();
  }
  const Summary s = summarize(ms);
  report.set("n", static_cast<double>(n)).set("ms", s.median).set("done", static_cast<double>(done_count));
  if (timeout) report.set("timeout_ms", static_cast<double>(timeout_us) / 1e3);
}

// The compose group (bench/common/compose.hpp): then chains, when_all over a fan-out, and the
// co_await round trip beside the blocking result() one, measured in the same process.
long long then_chain(cf::Future<int> f, long n) {
  for (long i = 0; i < n; ++i) f = f.then([](int x) { return x + 1; });
  return f.result();
}

void then_done(const Args& args, Report& report) {
  report_chain(args, report, [](long n) {
    cf::Future<int> start;
    start.set_result(0);
    return then_chain(start, n);
  });
}

void then_pending(const Args& args, Report& report) {
  report_chain(args, report, [](long n) {
    cf::Future<int> start;
    cf::Future<int> last = start;
    for (long i = 0; i < n; ++i) last = last.then([](int x) { return x + 1; });
    start.set_result(0);
    return static_cast<long long>(last.result());
  });
}

void when_all_calls(const Args& args, Report& report) {
  Pool pool(args.workers());
  warm_up(pool, args);
  report_fan_out(args, report, [&](long n) {
    std::vector<cf::Future<int>> calls;
    calls.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) calls.push_back(pool.executor.submit(ident, static_cast<int>(i)));
    long long sum = 0;
    const auto all = cf::when_all(calls);
    for (const auto& f : all.result()) sum += f.result();
    return sum;
  });
}

cf::Future<long long> await_loop(cf::ThreadPoolExecutor& pool, long m) {
  long long sum = 0;
  for (long i = 0; i < m; ++i) sum += co_await pool.submit(ident, static_cast<int>(i));
  co_return sum;
}

void await_round_trips(const Args& args, Report& report) {
  Pool pool(args.workers());
  warm_up(pool, args);
  const double await_us = time_round_trips(args, [&](long m) { return await_loop(pool.executor, m).result(); });
  const double result_us = time_round_trips(args, [&](long m) {
    long long sum = 0;
    for (long i = 0; i < m; ++i) sum += pool.executor.submit(ident, static_cast<int>(i)).result();
    return sum;
  });
  report.set("m", static_cast<double>(args.num("m", 20000)))
      .set("rtt_us", await_us)
      .set("result_rtt_us", result_us)
      .set("await_over_result", await_us / result_us);
}

}  // namespace

int main(int argc, char** argv) {
  Registry registry;
  add_future_workloads<Pool>(registry);
  registry["map"] = map_items;
  registry["as_completed"] = as_completed_items;
  registry["wait_first_done_last"] = [](const Args& a, Report& r) { wait_first(a, r, false); };
  registry["wait_first_timeout"] = [](const Args& a, Report& r) { wait_first(a, r, true); };
  registry["is_prime"] = is_prime_map<cf::ThreadPoolExecutor>;
  registry["compose_then_done"] = then_done;
  registry["compose_then_pending"] = then_pending;
  registry["compose_when_all"] = when_all_calls;
  registry["compose_await"] = await_round_trips;
  return run_main(argc, argv, "cfutures", registry);
}
