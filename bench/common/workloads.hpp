// The workloads every future-returning pool runs with the same code. A system plugs in a pool
// adapter:
//
//   struct Pool {
//     explicit Pool(int workers);
//     template <class F, class A> Handle submit(F* fn, A arg);  // fn(arg) somewhere; a future
//     template <class H> static decltype(auto) get(H&);         // waits, returns the value
//     template <class F> void post(F fn);                       // optional: fire and forget
//   };
//
// Tasks are free functions and one argument (ident, is_prime), so the same code also drives a
// process pool, and every system pays for the same call.
//
// and registers add_future_workloads<Pool>(registry). System-specific workloads (cfutures'
// map/as_completed/wait, TBB's parallel_for, ...) are registered beside them.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "bench.hpp"

namespace bench {

// Adapters over std::future-like handles read them with get().
struct GetByGet {
  template <class H>
  static auto get(H& h) {
    return h.get();
  }
};

// The fields of a submit-then-read run: the clock covers [t0, t2], the submit phase [t0, t1].
inline void report_throughput(Report& report, const Args& args, long n, Clock::time_point t0, Clock::time_point t1,
                              Clock::time_point t2) {
  report.set("n", static_cast<double>(n))
      .set("workers", args.workers())
      .set("tasks_per_s", static_cast<double>(n) / seconds_between(t0, t2))
      .set("submit_per_s", static_cast<double>(n) / seconds_between(t0, t1))
      .set("peak_rss_mb", peak_rss_bytes() / 1e6);
}

// (6) times `body` (which returns one flag per number of kPrimes) and reports it.
template <class Body>
void report_is_prime(Report& report, Body body) {
  const auto t0 = Clock::now();
  const std::vector<bool> flags = body();
  const auto t1 = Clock::now();
  report.set("ms", seconds_between(t0, t1) * 1e3).set("primes", primes_found(flags));
}

template <class Pool>
using handle_t = decltype(std::declval<Pool&>().submit(ident, 0));

// --warmup tasks (default kWarmup) submitted and read before any timed phase.
template <class Pool>
void warm_up(Pool& pool, const Args& args) {
  const long count = args.num("warmup", kWarmup);
  std::vector<handle_t<Pool>> handles;
  handles.reserve(static_cast<std::size_t>(count));
  for (long i = 0; i < count; ++i) handles.push_back(pool.submit(ident, 0));
  long long sum = 0;
  for (auto& h : handles) sum += Pool::get(h);
  consume(sum);
}

// (1) and (8): submit N tiny tasks, keep the futures, then get every result. The clock covers
// submit, get and releasing the futures; the submit phase is reported too. (3, peers) map: the same over an input
// vector.
template <class Pool>
void submit_all_then_get(const Args& args, Report& report, long default_n) {
  const long n = args.num("n", default_n);
  const std::vector<int> xs = iota_ints(n);
  Pool pool(args.workers());
  warm_up(pool, args);
  std::vector<handle_t<Pool>> handles;
  handles.reserve(static_cast<std::size_t>(n));
  const auto t0 = Clock::now();
  for (int x : xs) handles.push_back(pool.submit(ident, x));
  const auto t1 = Clock::now();
  long long sum = 0;
  for (auto& h : handles) sum += Pool::get(h);
  handles.clear();  // releasing the futures is part of the cost of a task
  const auto t2 = Clock::now();
  consume(sum);
  report_throughput(report, args, n, t0, t1, t2);
}

// (2): one submit + result, M times. Warm: the next submit follows at once. Cold: the pool
// is left idle for --idle_us first (long enough for any spinning worker to park).
template <class Pool>
void round_trip(const Args& args, Report& report, bool cold) {
  const long m = args.num("m", cold ? 300 : 20000);
  const long idle_us = args.num("idle_us", 2000);
  Pool pool(args.workers());
  warm_up(pool, args);
  std::vector<double> lat;
  lat.reserve(static_cast<std::size_t>(m));
  long long sum = 0;
  for (long i = 0; i < m; ++i) {
    if (cold) std::this_thread::sleep_for(std::chrono::microseconds(idle_us));
    const auto t0 = Clock::now();
    auto h = pool.submit(ident, static_cast<int>(i));
    sum += Pool::get(h);
    lat.push_back(us_between(t0, Clock::now()));
  }
  consume(sum);
  const Summary s = summarize(lat);
  report.set("m", static_cast<double>(m))
      .set("rtt_median_us", s.median)
      .set("rtt_p99_us", s.p99)
      .set("rtt_mean_us", s.mean)
      .set("rtt_min_us", s.min);
}

// (4, peers): what a C++ user writes for as_completed without futures that can notify: each
// task pushes its result into a mutex + condition-variable queue; the caller drains it.
template <class Pool>
void completion_queue(const Args& args, Report& report) {
  const long n = args.num("n", 100000);
  Pool pool(args.workers());
  warm_up(pool, args);
  struct Queue {
    std::mutex mutex;
    std::condition_variable ready;
    std::vector<int> items;
  } queue;
  const auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    pool.post([&queue, i] {
      const int r = ident(static_cast<int>(i));
      {
        std::lock_guard lock(queue.mutex);
        queue.items.push_back(r);
      }
      queue.ready.notify_one();
    });
  }
  long got = 0;
  long long sum = 0;
  std::vector<int> batch;
  while (got < n) {
    {
      std::unique_lock lock(queue.mutex);
      queue.ready.wait(lock, [&] { return !queue.items.empty(); });
      batch.swap(queue.items);
    }
    for (int r : batch) sum += r;
    got += static_cast<long>(batch.size());
    batch.clear();
  }
  const auto t1 = Clock::now();
  consume(sum);
  report.set("n", static_cast<double>(n)).set("tasks_per_s", static_cast<double>(n) / seconds_between(t0, t1));
}

// (7): heap and RSS growth per pending task. Every worker is held in a gate task first, so
// the N submissions stay queued; the handles' vector is reserved before the first probe.
template <class Pool>
void memory_pending(const Args& args, Report& report) {
  const long n = args.num("n", 100000);
  const int workers = args.workers();
  Pool pool(workers);
  warm_up(pool, args);
  Gate gate;
  std::vector<handle_t<Pool>> held, handles;
  for (int w = 0; w < workers; ++w) held.push_back(pool.submit(hold_gate, &gate));
  gate.wait_entered(workers);
  handles.reserve(static_cast<std::size_t>(n));
  const double heap0 = heap_bytes(), rss0 = rss_bytes();
  for (long i = 0; i < n; ++i) handles.push_back(pool.submit(ident, static_cast<int>(i)));
  const double heap1 = heap_bytes(), rss1 = rss_bytes();
  gate.open();
  long long sum = 0;
  for (auto& h : held) sum += Pool::get(h);
  for (auto& h : handles) sum += Pool::get(h);
  consume(sum);
  report.set("n", static_cast<double>(n))
      .set("heap_bytes_per_future", (heap1 - heap0) / static_cast<double>(n))
      .set("rss_bytes_per_future", (rss1 - rss0) / static_cast<double>(n))
      .set("handle_bytes", static_cast<double>(sizeof(handles[0])));
}

// (6): the seed program: a pool of 2, one task per number, every result read; the clock
// covers creating and destroying the pool, as Python's `with` block does.
template <class Pool>
void is_prime_tasks(const Args& args, Report& report) {
  report_is_prime(report, [&] {
    std::vector<bool> flags;
    Pool pool(args.workers());
    std::vector<decltype(pool.submit(is_prime, 0LL))> handles;
    for (long long p : kPrimes) handles.push_back(pool.submit(is_prime, p));
    for (auto& h : handles) flags.push_back(Pool::get(h));
    return flags;
  });
}

template <class Pool>
void add_future_workloads(Registry& r) {
  r["throughput"] = [](const Args& a, Report& rep) { submit_all_then_get<Pool>(a, rep, 200000); };
  r["scaling"] = r["throughput"];
  r["map"] = [](const Args& a, Report& rep) { submit_all_then_get<Pool>(a, rep, 1000000); };
  r["rtt"] = [](const Args& a, Report& rep) { round_trip<Pool>(a, rep, false); };
  r["rtt_cold"] = [](const Args& a, Report& rep) { round_trip<Pool>(a, rep, true); };
  r["memory_pending"] = [](const Args& a, Report& rep) { memory_pending<Pool>(a, rep); };
  r["is_prime"] = [](const Args& a, Report& rep) { is_prime_tasks<Pool>(a, rep); };
  if constexpr (requires(Pool & p) { p.post([] {}); }) {
    r["as_completed"] = [](const Args& a, Report& rep) { completion_queue<Pool>(a, rep); };
  }
}

}  // namespace bench
