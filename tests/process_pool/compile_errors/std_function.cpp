// EXPECT: a std::function cannot cross to a worker process
#include <cfutures/cfutures.hpp>
#include <functional>
int main() {
  concurrent::futures::ProcessPoolExecutor pool(1);
  std::function<int()> f = [] { return 1; };
  return pool.submit(f).result();
}
