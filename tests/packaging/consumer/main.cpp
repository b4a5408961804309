#include <cfutures/cfutures.hpp>
#include <string>
#include <vector>

namespace cf = concurrent::futures;

int square(int v) { return v * v; }

int main() {
  cf::ThreadPoolExecutor pool(2);
  int sum = 0;
  for (int x : pool.map([](int v) { return v * v; }, std::vector<int>{1, 2, 3})) sum += x;
  // The process pool: worker processes, and arguments and results through cereal.
  cf::ProcessPoolExecutor processes(2);
  int process_sum = 0;
  for (int x : processes.map(square, std::vector<int>{1, 2, 3})) process_sum += x;
  const std::string echoed =
      processes.submit([](const std::string& s) { return s + "!"; }, std::string("cereal")).result();
  return sum == 14 && process_sum == 14 && echoed == "cereal!" && pool.submit([] { return 42; }).result() == 42 ? 0 : 1;
}
