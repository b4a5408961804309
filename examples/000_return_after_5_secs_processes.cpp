// Seed 000 (and 003), "ProcessPoolExecutor": the same with a pool of processes. The message
// crosses to the worker process by value (serialized, as the std::string the function takes).
#include <cfutures/process_pool.hpp>
#include <string>

#include "common/return_after_5_secs.hpp"
#include "common/seed.hpp"

namespace cf = concurrent::futures;
using seed::print;
using seed::return_after_5_secs;

int main(int argc, char** argv) {
  seed::init(argc, argv);
  cf::ProcessPoolExecutor pool(3);

  auto future = pool.submit(return_after_5_secs, "hello");
  print(future.done());
  seed::sleep(5);
  print(future.done());
  print("Result: " + future.result());
}
