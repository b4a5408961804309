// EXPECT: only its identity crosses to the worker process
#include <cfutures/cfutures.hpp>
int main() {
  concurrent::futures::ProcessPoolExecutor pool(1);
  int x = 1;
  return pool.submit([x] { return x; }).result();
}
