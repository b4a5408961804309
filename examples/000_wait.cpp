// Seed 000 (and 003), "wait()": five calls sleeping 1 to 5 s at random, then
// print(wait(futures)), and the same with each return_when the tutorial names:
// ALL_COMPLETED (the default), FIRST_COMPLETED and FIRST_EXCEPTION.
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
  for (auto return_when : {cf::ALL_COMPLETED, cf::FIRST_COMPLETED, cf::FIRST_EXCEPTION}) {
    std::vector<cf::Future<std::string>> futures;
    for (int x : seed::range(5)) futures.push_back(pool.submit(return_after_5_secs, x));

    print(return_when, cf::wait(futures, return_when));
  }
}
