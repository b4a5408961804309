// Seed 001 (Fluent Python, chapter 17), "Experimenting with Executor.map": five loiter(n)
// calls on 3 threads, each printing when it starts and ends, with timestamps; the results
// are read in input order, so reading waits for each call in turn.
#include <string>

#include "common/seed.hpp"

namespace cf = concurrent::futures;

template <class... A>
void display(const A&... args) {
  seed::print_end(" ", seed::strftime("[%H:%M:%S]"));
  seed::print(args...);
}

int loiter(int n) {
  const std::string tabs(static_cast<std::size_t>(n), '\t');
  display(tabs + "loiter(" + std::to_string(n) + "): doing nothing for " + std::to_string(n) + "s...");
  seed::sleep(n);
  display(tabs + "loiter(" + std::to_string(n) + "): done.");
  return n * 10;
}

int main(int argc, char** argv) {
  seed::init(argc, argv);
  display("Script starting");
  cf::ThreadPoolExecutor executor(3);
  auto results = executor.map(loiter, seed::range(5));
  display("results:", results);
  int i = 0;
  for (int result : results) {
    display("result " + std::to_string(i) + ": " + std::to_string(result));
    ++i;
  }
}
