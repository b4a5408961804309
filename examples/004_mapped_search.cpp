// Seed 004, mapped_search(): search_file mapped over the files; results in file order.
// --executor=thread (default) or --executor=process.
#include "common/search.hpp"

using seed::search_file, seed::files, seed::print;

template <class Executor>
void mapped_search() {
  Executor executor(5);
  for (const auto& result : executor.map(search_file, files())) print(result);
}

int main(int argc, char** argv) {
  return seed::search_main(argc, argv, []<class Executor> { mapped_search<Executor>(); });
}
