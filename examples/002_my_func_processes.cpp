// Seed 002, "Examples with the ProcessPoolExecuter": the same three blocks with a CPU-bound
// my_func on a pool of 3 processes. Python's integers are exact, so value ** 5 ** 4 ** 3 is
// exact there; C++ has no big integers, so this computes in double (the printed floats can
// differ from Python's in the last digit).
#include <cmath>

#include <cfutures/process_pool.hpp>

#include "common/executer_tour.hpp"
#include "common/seed.hpp"

namespace cf = concurrent::futures;

double my_func(double value) {
  value = std::pow(value, 5);
  value = std::pow(value, 4);
  value = std::pow(value, 3);
  value = value / 100000;
  return std::pow(value, 2);
}

int main(int argc, char** argv) {
  seed::init(argc, argv);
  const auto list_of_vals = seed::repeat<int>({1, 2, 3}, 10);
  seed::executer_tour<cf::ProcessPoolExecutor>(my_func, list_of_vals);
}
