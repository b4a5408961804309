// EXPECT: the function's result type cannot be serialized
#include <cfutures/cfutures.hpp>
#include <thread>
int main() {
  concurrent::futures::ProcessPoolExecutor pool(1);
  pool.submit([] { return std::thread(); }).result();
}
