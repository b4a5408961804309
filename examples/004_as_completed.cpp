// Seed 004, "Processing Futures Upon Their Completion": a search per file, each result
// processed by process_result as it completes (as_completed).
// --executor=thread (default) or --executor=process.
#include <string>
#include <vector>

#include "common/search.hpp"

namespace cf = concurrent::futures;
using seed::search_file, seed::files, seed::process_result;

template <class Executor>
void as_completed_search() {
  Executor executor(5);
  std::vector<cf::Future<std::string>> search_futures;
  for (const auto& search_target : files()) search_futures.push_back(executor.submit(search_file, search_target));

  for (auto future : cf::as_completed(search_futures)) process_result(future);
}

int main(int argc, char** argv) {
  return seed::search_main(argc, argv, []<class Executor> { as_completed_search<Executor>(); });
}
