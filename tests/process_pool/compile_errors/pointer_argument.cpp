// EXPECT: an argument is a pointer, which cannot cross to another process
#include <cfutures/cfutures.hpp>
int main() {
  concurrent::futures::ProcessPoolExecutor pool(1);
  static int value = 3;
  return pool.submit([](const int* p) { return *p; }, &value).result();
}
