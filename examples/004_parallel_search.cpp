// Seed 004, parallel_search(): a search for "Synergy" in every file, then wait() for all of
// them and print the done ones. --executor=thread (default) or --executor=process.
#include <string>
#include <vector>

#include "common/search.hpp"

namespace cf = concurrent::futures;
using seed::search, seed::files, seed::print;

template <class Executor>
void parallel_search() {
  std::vector<cf::Future<std::string>> futures;
  {
    Executor executor(5);
    for (const auto& search_target : files()) futures.push_back(executor.submit(search, search_target, "Synergy"));
  }

  auto results = cf::wait(futures);

  for (const auto& completed : results.done) print(completed.result());
}

int main(int argc, char** argv) {
  return seed::search_main(argc, argv, []<class Executor> { parallel_search<Executor>(); });
}
