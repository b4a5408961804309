// cf::ThreadPoolExecutor: an executor that runs calls on a pool of threads.
//
//   cf::ThreadPoolExecutor pool({.max_workers = 4, .thread_name_prefix = "fetch"});
//   std::vector<cf::Future<std::string>> pages;
//   for (const auto& url : urls) pages.push_back(pool.submit(download, url));
//   for (auto f : cf::as_completed(pages)) std::cout << f.result().size() << "\n";
//
// Threads start lazily: a submit starts one while fewer than max_workers exist and none is
// idle; idle threads are reused. Tasks submitted from one thread start in submission order.
// Idle workers spin for a bounded window (tens of microseconds) before sleeping, so bursts of
// small tasks pay no wake-up; a sleeping pool uses no CPU.
//
// A call whose first parameter is std::stop_token gets one, and can be asked to stop while it
// runs (by cancel(), shutdown(cancel_futures=true), a map range dropped early, or its timeout):
//
//   auto f = pool.submit(cf::CallOptions{.timeout = 2s}, [](std::stop_token stop, int n) {
//     while (!stop.stop_requested() && n-- > 0) step();
//     return n;
//   }, 1000);
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "cfutures/cpus.hpp"
#include "cfutures/executor.hpp"

namespace concurrent::futures {

namespace detail {
class ThreadPoolCore;
}  // namespace detail

struct ThreadPoolOptions {
  // Maximum number of threads; must be > 0. Default: min(32, usable CPUs + 4).
  std::optional<int> max_workers{};
  // Threads are named "<prefix>_<i>" (the OS name, cut to 15 characters, keeps the "_<i>").
  // Default: "ThreadPoolExecutor-<n>", n counting pools in this process.
  std::string thread_name_prefix{};
  // Runs at the start of each worker thread. If it throws, the pool is broken: pending and
  // later tasks fail with BrokenThreadPool.
  std::function<void()> initializer{};
};

class ThreadPoolExecutor : public Executor {
 public:
  // A pool of min(32, usable CPUs + 4) threads at most.
  ThreadPoolExecutor();
  // A pool of `max_workers` threads at most; throws std::invalid_argument if max_workers <= 0.
  explicit ThreadPoolExecutor(int max_workers);
  explicit ThreadPoolExecutor(ThreadPoolOptions options);
  // shutdown(wait=true). Futures and map ranges from this pool stay valid afterwards.
  ~ThreadPoolExecutor() override;

  // Executor::submit and Executor::map, known here to run in this process: nothing is
  // serialized, and any callable and arguments work (see executor.hpp). A callable that takes
  // a std::stop_token first (and cannot be called without it) gets the call's token: cancel()
  // of the running future, shutdown(cancel_futures=true) and a map range destroyed early or
  // read past its timeout ask it to stop. With CallOptions::timeout the future fails with
  // TimeoutError once the call has run that long (the token is asked to stop; the thread runs
  // the call to its end and its late result is dropped).
  template <detail::NotCallOptions F, class... A>
  auto submit(F&& fn, A&&... args) {
    return submit_as<detail::Crossing::kNever>(nullptr, std::forward<F>(fn), std::forward<A>(args)...);
  }
  template <class F, class... A>
  auto submit(const CallOptions& options, F&& fn, A&&... args) {
    return submit_as<detail::Crossing::kNever>(&options, std::forward<F>(fn), std::forward<A>(args)...);
  }
  template <class F, class... Args>
  auto map(F&& fn, Args&&... args) {
    return map_as<detail::Crossing::kNever>(std::forward<F>(fn), std::forward<Args>(args)...);
  }

  // Threads started and not yet exited (Python's len(pool._threads)).
  std::size_t worker_count() const noexcept;
  // The maximum number of threads.
  std::size_t max_workers() const noexcept;
  // The prefix of the worker threads' names.
  const std::string& thread_name_prefix() const noexcept;

 protected:
  void schedule(Task task) override;
  // shutdown(): called from one of this pool's own tasks with wait=true, it waits for the
  // other workers and lets the calling one finish on its own.
  void on_shutdown(bool wait, bool cancel_futures) override;

 private:
  std::shared_ptr<detail::ThreadPoolCore> core_;
};

}  // namespace concurrent::futures
