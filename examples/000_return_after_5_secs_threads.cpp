// Seed 000 (and 003), "ThreadPoolExecutor": submit a call that sleeps 5 s, ask done() before
// and after sleeping as long, then get the result. Prints False, True, hello.
#include <string>

#include "common/seed.hpp"

namespace cf = concurrent::futures;
using seed::print;

std::string return_after_5_secs(std::string message) {
  seed::sleep(5);
  return message;
}

int main(int argc, char** argv) {
  seed::init(argc, argv);
  cf::ThreadPoolExecutor pool(3);

  auto future = pool.submit(return_after_5_secs, "hello");
  print(future.done());
  seed::sleep(5);
  print(future.done());
  print(future.result());
}
