// Seed 000 (and 003), "ThreadPoolExecutor": submit a call that sleeps 5 s, ask done() before
// and after sleeping as long, then get the result. The tutorial
// shows False, True, hello (docs/from-python.md says why the second done() may differ).
#include <string>

#include "common/return_after_5_secs.hpp"
#include "common/seed.hpp"

namespace cf = concurrent::futures;
using seed::print;
using seed::return_after_5_secs;

int main(int argc, char** argv) {
  seed::init(argc, argv);
  cf::ThreadPoolExecutor pool(3);

  auto future = pool.submit(return_after_5_secs, "hello");
  print(future.done());
  seed::sleep(5);
  print(future.done());
  print(future.result());
}
