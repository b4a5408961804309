// Per-task costs of the thread pool, counted by tools rather than timed: run by bench/costs.sh
// under strace (syscalls per task) and valgrind (heap allocations per task). Submits N no-op
// tasks twice (all queued, then collected), after a warm-up of 1000 round trips.
// `costs N then`: N thens on a pending future that then completes, and N on a done future
// (2N thens, no thread, nobody sleeping).
#include <cfutures/cfutures.hpp>
#include <cstdlib>
#include <cstring>
#include <vector>
namespace cf = concurrent::futures;
int thens(int n) {
  cf::Future<int> start;
  cf::Future<int> last = start;
  for (int i = 0; i < n; ++i) last = last.then([](int x) { return x + 1; });
  start.set_result(0);
  for (int i = 0; i < n; ++i) last = last.then([](int x) { return x + 1; });
  return last.result() == 2 * n ? 0 : 1;
}
int main(int argc, char** argv) {
  const int N = argc > 1 ? std::atoi(argv[1]) : 100000;
  if (argc > 2 && std::strcmp(argv[2], "then") == 0) return thens(N);
  cf::ThreadPoolExecutor pool(2);
  for (int i = 0; i < 1000; ++i) pool.submit([i] { return i; }).result();
  std::vector<cf::Future<int>> fs;
  fs.reserve(N);
  long sum = 0;
  for (int round = 0; round < 2; ++round) {
    fs.clear();
    for (int i = 0; i < N; ++i) fs.push_back(pool.submit([i] { return i; }));
    for (auto& f : fs) sum += f.result();
  }
  return sum > 0 ? 0 : 1;
}
