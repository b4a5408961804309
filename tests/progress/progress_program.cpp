// The program that test_terminal.cpp runs under a pseudo-terminal (and with pipes): a loop
// over cf::progress that takes a known time, then one line on stdout with what it read.
//
//   progress_program vector|as_completed|map COUNT MICROSECONDS_PER_ELEMENT
#include <cfutures/cfutures.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

namespace cf = concurrent::futures;

namespace {

// Busy for `us` microseconds (a clock, not a sleep: the time is the subject of the test).
int work(int x, long us) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  while (std::chrono::steady_clock::now() < until) {
  }
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s vector|as_completed|map COUNT MICROSECONDS\n", argv[0]);
    return 2;
  }
  const std::string source = argv[1];
  const int count = std::atoi(argv[2]);
  const long us = std::atol(argv[3]);
  std::vector<int> xs(static_cast<std::size_t>(count));
  std::iota(xs.begin(), xs.end(), 0);
  long sum = 0;
  if (source == "vector") {
    for (const int& x : cf::progress(xs, {.description = "work"})) sum += work(x, us);
  } else {
    cf::ThreadPoolExecutor pool(2);
    if (source == "as_completed") {
      std::vector<cf::Future<int>> fs;
      for (int x : xs) fs.push_back(pool.submit(work, x, us));
      for (cf::Future<int> f : cf::progress(cf::as_completed(fs), {.description = "futures"})) sum += f.result();
    } else {
      for (int r : cf::progress(pool.map(work, xs, std::vector<long>(xs.size(), us)),
                                {.description = "map", .total = xs.size()})) {
        sum += r;
      }
    }
  }
  std::printf("sum=%ld\n", sum);
}
