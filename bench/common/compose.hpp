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

#include <stdexcept>
#include <string>

#include "bench.hpp"

namespace bench {

// Runs `run(count)`, checks that it returned `expected` (the workload did its work), and
// returns the seconds it took.
template <class Run>
double timed(Run run, long count, long long expected, const char* what) {
  const auto t0 = Clock::now();
  const long long got = run(count);
  const double seconds = seconds_between(t0, Clock::now());
  if (got != expected) throw std::runtime_error(std::string(what) + ": computed " + std::to_string(got));
  return seconds;
}

// A chain of n links, each adding one to the value: `run(n)` returns the last value.
template <class Run>
void report_chain(const Args& args, Report& report, Run run) {
  const long n = args.num("n", 100000);
  const double seconds = timed(run, n, n, "then chain");
  report.set("n", static_cast<double>(n))
      .set("ns_per_then", seconds * 1e9 / static_cast<double>(n))
      .set("ms", seconds * 1e3);
}

// A fan-out of n calls ident(i): `run(n)` returns their sum.
template <class Run>
void report_fan_out(const Args& args, Report& report, Run run) {
  const long n = args.num("n", 100000);
  const double seconds = timed(run, n, static_cast<long long>(n) * (n - 1) / 2, "fan-out");
  report.set("n", static_cast<double>(n))
      .set("workers", args.workers())
      .set("tasks_per_s", static_cast<double>(n) / seconds)
      .set("peak_rss_mb", peak_rss_bytes() / 1e6);
}

// m round trips ident(i): `run(m)` returns their sum. Returns the mean round trip in µs.
template <class Run>
double time_round_trips(const Args& args, Run run) {
  const long m = args.num("m", 20000);
  return timed(run, m, static_cast<long long>(m) * (m - 1) / 2, "round trips") * 1e6 / static_cast<double>(m);
}

}  // namespace bench
