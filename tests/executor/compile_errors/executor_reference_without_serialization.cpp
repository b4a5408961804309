// EXPECT: include <cfutures/serialization.hpp>
// Through a cf::Executor& a call may go to a process pool, so a callable that could cross needs
// the serialization header in the translation unit.
#include <cfutures/thread_pool.hpp>
int twice(int x) { return 2 * x; }
int run(concurrent::futures::Executor& executor) { return executor.submit(twice, 21).result(); }
int main() {
  concurrent::futures::ThreadPoolExecutor pool(1);
  return run(pool) == 42 ? 0 : 1;
}
