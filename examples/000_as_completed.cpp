// Seed 000 (and 003), "as_completed()": five calls sleeping 1 to 5 s at random; their
// results print in the order they finish.
#include <string>
#include <vector>

#include "common/return_after_5_secs.hpp"
#include "common/seed.hpp"

namespace cf = concurrent::futures;
using seed::print;
using seed::random_sleep::return_after_5_secs;

int main(int argc, char** argv) {
  seed::init(argc, argv);
  cf::ThreadPoolExecutor pool(5);
  std::vector<cf::Future<std::string>> futures;
  for (int x : seed::range(5)) futures.push_back(pool.submit(return_after_5_secs, x));

  for (auto x : cf::as_completed(futures)) print(x.result());
}
