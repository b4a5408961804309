// The naive baseline: a mutex + condition-variable pool over a deque of
// std::packaged_task<void()> (what perf-baseline.md calls "naive pool"), returning
// std::future. Also the single-threaded is_prime reference (--system sequential).
#include <deque>
#include <future>

#include "../common/workloads.hpp"

using namespace bench;

namespace {

class NaivePool : public GetByGet {
 public:
  explicit NaivePool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { loop(); });
  }
  NaivePool(const NaivePool&) = delete;
  NaivePool& operator=(const NaivePool&) = delete;
  ~NaivePool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
  }

  template <class F, class A>
  auto submit(F* fn, A arg) {
    std::packaged_task<decltype(fn(arg))()> task([fn, arg] { return fn(arg); });
    auto future = task.get_future();
    post(std::move(task));
    return future;
  }
  template <class F>
  void post(F fn) {
    {
      std::lock_guard lock(mutex_);
      queue_.emplace_back(std::move(fn));
    }
    ready_.notify_one();
  }

 private:
  void loop() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

void is_prime_sequential(const Args&, Report& report) {
  report_is_prime(report, [] {
    std::vector<bool> flags;
    for (long long p : kPrimes) flags.push_back(is_prime(p));
    return flags;
  });
}

}  // namespace

int main(int argc, char** argv) {
  Registry registry;
  add_future_workloads<NaivePool>(registry);
  registry["is_prime_sequential"] = is_prime_sequential;
  return run_main(argc, argv, "naive", registry);
}
