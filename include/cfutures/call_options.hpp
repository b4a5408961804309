// cf::CallOptions and cf::MapOptions: how one submitted call, or one map, is run.
//
//   pool.submit(cf::CallOptions{.timeout = 2s, .retries = 1}, fetch, url);
//   for (auto r : pool.map(parse, pages, cf::MapOptions{.timeout = 30s, .chunksize = 64})) use(r);
//
// Fields are listed in declaration order, which designated initializers must follow.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <type_traits>

namespace concurrent::futures {

// Options of one submit(). Executors that cannot honour an option say so in their own
// documentation; the defaults ask for nothing (CPython's behaviour).
struct CallOptions {
  // How long the call may run, counted from the moment it starts running (in a thread or a
  // worker process), not from submit. Past it the future fails with TimeoutError.
  std::optional<std::chrono::nanoseconds> timeout{};
  // How many more times a call whose worker died is run again on a fresh worker before its
  // future fails (process pools with OnWorkerDeath::fail_call). Must be >= 0.
  int retries = 0;
};

// Options of Executor::map and map_unordered.
struct MapOptions {
  // Time allowed for the whole map, counted from the call to map(); reading past it throws
  // TimeoutError, cancels what has not started, and ends the range.
  std::optional<std::chrono::nanoseconds> timeout{};
  // Calls per task: each task runs `chunksize` positions one after the other (a process pool
  // sends them in one message). Each position keeps its own result or exception. 0 is an error.
  std::size_t chunksize = 1;
  // If set, consume the input lazily with at most this many tasks (chunks) in flight between
  // reads (one more while a read waits), so an endless input works. 0 is an error.
  std::optional<std::size_t> buffersize{};
  // How long each task (a chunk with chunksize > 1) may run once started; as CallOptions::timeout.
  std::optional<std::chrono::nanoseconds> call_timeout{};
};

namespace detail {
// What submit(fn, args...) accepts as fn: anything but CallOptions, which selects the
// submit(options, fn, args...) overload (a forwarding reference would otherwise win over it).
template <class F>
concept NotCallOptions = !std::is_same_v<std::remove_cvref_t<F>, CallOptions>;

// Throw std::invalid_argument naming the field of `options` that is out of range. Compiled in
// the library: inlined into a caller, GCC's -Wmaybe-uninitialized misreads the optionals.
void check_call_options(const CallOptions& options);
// As above for a map; returns its buffersize, or 0 when the whole input is submitted at once.
std::size_t check_map_options(const MapOptions& options);
}  // namespace detail

}  // namespace concurrent::futures
