// Seed 002, "Examples with the ProcessPoolExecuter": the same three blocks with a CPU-bound
// my_func on a pool of 3 processes. Python's integers are exact, so value ** 5 ** 4 ** 3 is an
// exact integer there and value / 100000 its correctly rounded quotient; Boost.Multiprecision's
// cpp_int and cpp_rational compute the same, so the twin prints Python's floats exactly.
#include <boost/multiprecision/cpp_int.hpp>
#include <cfutures/process_pool.hpp>
#include <cmath>

#include "common/executer_tour.hpp"
#include "common/seed.hpp"

namespace cf = concurrent::futures;
namespace mp = boost::multiprecision;

double my_func(int value) {
  mp::cpp_int exact = value;
  exact = mp::pow(exact, 5);
  exact = mp::pow(exact, 4);
  exact = mp::pow(exact, 3);
  const double divided = mp::cpp_rational(exact, 100000).convert_to<double>();  // int / int: a float
  return std::pow(divided, 2);
}

int main(int argc, char** argv) {
  seed::init(argc, argv);
  const auto list_of_vals = seed::repeat<int>({1, 2, 3}, 10);
  seed::executer_tour<cf::ProcessPoolExecutor>(my_func, list_of_vals);
}
