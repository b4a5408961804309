// Seed 004, with_callback(): three searches, each with process_result as its done-callback,
// which prints the result as soon as the search is done (in completion order).
// --executor=thread (default) or --executor=process.
#include <string>

#include "common/search.hpp"

using seed::search, seed::file, seed::process_result;

template <class Executor>
void with_callback() {
  Executor executor(5);
  executor.submit(search, file("test1.txt"), "Test").add_done_callback(process_result);
  executor.submit(search, file("test2.txt"), "Tset").add_done_callback(process_result);
  executor.submit(search, file("test3.txt"), "Something").add_done_callback(process_result);
}

int main(int argc, char** argv) {
  return seed::search_main(argc, argv, []<class Executor> { with_callback<Executor>(); });
}
