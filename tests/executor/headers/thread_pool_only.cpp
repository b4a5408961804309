// A program that uses only the thread pool: <cfutures/thread_pool.hpp> brings no cereal (checked
// by headers.cmake on the preprocessed text), and every kind of call compiles without
// <cfutures/serialization.hpp> — plain functions through the pool itself, and through a
// cf::Executor& anything that cannot cross anyway (a capturing lambda, a std::function).
#include <cfutures/thread_pool.hpp>
#include <functional>
#include <vector>
namespace cf = concurrent::futures;
int twice(int x) { return 2 * x; }
int through_reference(cf::Executor& executor) {
  int offset = 1;
  std::function<int(int)> f = twice;
  return executor.submit([offset](int x) { return x + offset; }, 1).result() + executor.submit(f, 2).result();
}
int main() {
  cf::ThreadPoolExecutor pool(2);
  int sum = pool.submit(twice, 1).result();
  for (int r : pool.map(twice, std::vector<int>{1, 2, 3}, cf::MapOptions{.chunksize = 2})) sum += r;
  return sum + through_reference(pool) == 20 ? 0 : 1;
}
