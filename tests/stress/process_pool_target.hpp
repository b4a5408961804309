// The process pool as a target of the stress mix (stress_mix.hpp). Its tasks run in worker
// processes, so they count their runs in a shared file (SharedCounters) and cannot reach the
// ledger; the mix then uses only the task kinds that need nothing but their arguments.
#pragma once

#include <cfutures/process_pool.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "stress_mix.hpp"

namespace cfstress {

// A task of the mix, in a worker process: counts its run, then returns or throws by kind.
inline Value remote_task(std::string ledger, std::int64_t id, int kind) {
  counter_in(ledger, static_cast<std::size_t>(id)).fetch_add(1, std::memory_order_relaxed);
  switch (static_cast<Kind>(kind)) {
    case Kind::kThrow:
      throw StressError(id);
    case Kind::kSpin:
      spin(static_cast<std::uint64_t>(id % 97) * 40);
      break;
    default:
      break;
  }
  return expected_value(id);
}

struct ProcessPoolTarget {
  using Executor = cf::ProcessPoolExecutor;
  static constexpr const char* kName = "ProcessPoolExecutor";
  static constexpr bool kInProcess = false;
  static constexpr bool kFifoWithOneWorker = false;  // not promised for processes
  static constexpr bool kChunks = true;              // map sends chunksize calls per message

  // A quarter of the pools each recycle workers after 1, 3 or 10 calls (max_tasks_per_child).
  static std::unique_ptr<Executor> make(int max_workers, std::uint64_t variant) {
    cf::ProcessPoolOptions options{.max_workers = max_workers};
    static constexpr int kRecycle[] = {0, 1, 3, 10};
    if (const int n = kRecycle[variant % 4]; n > 0) options.max_tasks_per_child = n;
    return std::make_unique<Executor>(std::move(options));
  }
  static cf::Future<Value> submit_remote(Executor& pool, const std::string& ledger, std::int64_t id, int kind) {
    return pool.submit(&remote_task, ledger, id, kind);
  }
  // StressError is not registered, so it arrives as RemoteError naming the type.
  static bool is_remote_stress_error(const std::exception& e, std::int64_t id) {
    const auto* remote = dynamic_cast<const cf::RemoteError*>(&e);
    return remote != nullptr && remote->type_name().find("StressError") != std::string::npos &&
           std::string(remote->what()) == StressError(id).what();
  }
};

}  // namespace cfstress
