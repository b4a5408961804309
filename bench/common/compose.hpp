// The composition workloads (bench/compare group "compose"): the same measurement for every
// system, each written with the system's own spelling.
//
//   compose_then_done     a chain of N continuations attached to a future already done
//   compose_then_pending  a chain of N continuations attached to a pending future, then the
//                         future completes (the whole chain runs inside that completion)
//   compose_when_all      N calls submitted to a pool, joined by one when_all, every result read
//   compose_await         M round trips "submit a call, wait for its result" in a loop: inside a
//                         coroutine with co_await where the system has one, else blocking
//
// A system provides the loops; these helpers time them and fill the report the same way.
#pragma once

#include "bench.hpp"

namespace bench {

// Times `run(n)` (which returns the chain's final value, n if every link added one).
template <class Run>
void report_chain(const Args& args, Report& report, Run run) {
  const long n = args.num("n", 100000);
  const auto t0 = Clock::now();
  const long long last = run(n);
  const auto t1 = Clock::now();
  if (last != n) throw std::runtime_error("the chain computed " + std::to_string(last) + ", not " + std::to_string(n));
  report.set("n", static_cast<double>(n))
      .set("ns_per_then", seconds_between(t0, t1) * 1e9 / static_cast<double>(n))
      .set("ms", seconds_between(t0, t1) * 1e3);
}

// Times `run(n)` (which returns the sum of ident(i) over the n calls).
template <class Run>
void report_fan_out(const Args& args, Report& report, Run run) {
  const long n = args.num("n", 100000);
  const auto t0 = Clock::now();
  const long long sum = run(n);
  const auto t1 = Clock::now();
  if (sum != static_cast<long long>(n) * (n - 1) / 2) throw std::runtime_error("wrong sum of the fan-out");
  report.set("n", static_cast<double>(n))
      .set("workers", args.workers())
      .set("tasks_per_s", static_cast<double>(n) / seconds_between(t0, t1))
      .set("peak_rss_mb", peak_rss_bytes() / 1e6);
}

// Times `run(m)` (m round trips; returns the sum of ident(i)) and reports the mean round trip
// under `metric`.
template <class Run>
double time_round_trips(const Args& args, Run run) {
  const long m = args.num("m", 20000);
  const auto t0 = Clock::now();
  const long long sum = run(m);
  const auto t1 = Clock::now();
  if (sum != static_cast<long long>(m) * (m - 1) / 2) throw std::runtime_error("wrong sum of the round trips");
  return us_between(t0, t1) / static_cast<double>(m);
}

}  // namespace bench
