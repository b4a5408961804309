// Seed 000 (and 003): the ProcessPoolExecutor example of the Python docs, is_prime over six
// large numbers with map. --sequential runs the same calls one after the other in this
// process (Python's built-in map), to compare the times.
#include <cfutures/process_pool.hpp>
#include <cmath>
#include <vector>

#include "common/seed.hpp"

namespace cf = concurrent::futures;
using seed::print;

const std::vector<long long> PRIMES = {112272535095293, 112582705942171, 112272535095293,
                                       115280095190773, 115797848077099, 1099726899285419};

bool is_prime(long long n) {
  if (n % 2 == 0) return false;

  const auto sqrt_n = static_cast<long long>(std::floor(std::sqrt(static_cast<double>(n))));
  for (long long i = 3; i < sqrt_n + 1; i += 2) {
    if (n % i == 0) return false;
  }
  return true;
}

int main(int argc, char** argv) {
  seed::init(argc, argv, {"--sequential"});
  if (seed::option("--sequential")) {
    for (long long number : PRIMES) print(number, "is prime:", is_prime(number));
    return 0;
  }
  cf::ProcessPoolExecutor executor;
  auto results = executor.map(is_prime, PRIMES);
  for (auto prime = results.begin(); long long number : PRIMES) {
    print(number, "is prime:", *prime);
    ++prime;
  }
}
