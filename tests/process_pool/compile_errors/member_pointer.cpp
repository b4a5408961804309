// EXPECT: a pointer to member cannot be called in a worker process
#include <cfutures/cfutures.hpp>
#include <string>
int main() {
  concurrent::futures::ProcessPoolExecutor pool(1);
  return static_cast<int>(pool.submit(&std::string::size, std::string("x")).result());
}
