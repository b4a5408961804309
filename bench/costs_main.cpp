// Per-task costs of the thread pool, counted by tools rather than timed: run by bench/costs.sh
// under strace (syscalls per task) and valgrind (heap allocations per task). Submits N no-op
// tasks twice (all queued, then collected), after a warm-up of 1000 round trips.
#include <cfutures/cfutures.hpp>
#include <vector>
#include <cstdlib>
namespace cf = concurrent::futures;
int main(int argc, char** argv) {
  const int N = argc > 1 ? std::atoi(argv[1]) : 100000;
  cf::ThreadPoolExecutor pool(2);
  for (int i = 0; i < 1000; ++i) pool.submit([i] { return i; }).result();
  std::vector<cf::Future<int>> fs; fs.reserve(N);
  long sum = 0;
  for (int round = 0; round < 2; ++round) {
    fs.clear();
    for (int i = 0; i < N; ++i) fs.push_back(pool.submit([i] { return i; }));
    for (auto& f : fs) sum += f.result();
  }
  return sum > 0 ? 0 : 1;
}
