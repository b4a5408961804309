// Seed 002, "Examples with the ThreadPoolExecuter": my_func sleeps value/10 s and returns
// value + 2; run with submit and a done-callback, with map, and with wait (the three blocks
// are seed::executer_tour, shared with the process twin).
#include "common/executer_tour.hpp"
#include "common/seed.hpp"

namespace cf = concurrent::futures;

int my_func(int value) {
  seed::sleep(value / 10.0);
  return value + 2;
}

int main(int argc, char** argv) {
  seed::init(argc, argv);
  const auto list_of_vals = seed::repeat<int>({1, 2, 3}, 3);
  seed::executer_tour<cf::ThreadPoolExecutor>(my_func, list_of_vals);
}
