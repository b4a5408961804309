// The adapter that puts a cfutures executor (thread or process pool) into the shared
// workloads, and the seed program written with the executor's map, as examples/ does.
#pragma once

#include <cfutures/cfutures.hpp>

#include "../common/workloads.hpp"

namespace bench {

template <class Executor>
struct CfPool {
  Executor executor;
  explicit CfPool(int workers) : executor(workers) {}
  template <class F, class A>
  auto submit(F* fn, A arg) {
    return executor.submit(fn, arg);
  }
  template <class H>
  static decltype(auto) get(H& h) {
    return h.result();
  }
};

// (6) the seed program: map(is_prime, PRIMES) on a pool of 2, pool start and stop included.
template <class Executor>
void is_prime_map(const Args& args, Report& report) {
  report_is_prime(report, [&] {
    std::vector<bool> flags;
    Executor pool(args.workers());
    for (bool prime : pool.map(is_prime, kPrimes)) flags.push_back(prime);
    return flags;
  });
}

}  // namespace bench
