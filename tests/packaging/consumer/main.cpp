#include <cfutures/cfutures.hpp>

namespace cf = concurrent::futures;

int main() {
  cf::ThreadPoolExecutor pool(2);
  int sum = 0;
  for (int x : pool.map([](int v) { return v * v; }, std::vector<int>{1, 2, 3})) sum += x;
  return sum == 14 && pool.submit([] { return 42; }).result() == 42 ? 0 : 1;
}
