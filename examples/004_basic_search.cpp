// Seed 004, basic_search(): three searches submitted one by one to a pool of 5 workers;
// their results are printed after the pool has shut down, in submission order.
// --executor=thread (default) or --executor=process.
#include <string>

#include "common/search.hpp"

namespace cf = concurrent::futures;
using seed::search, seed::file, seed::print;

template <class Executor>
void basic_search() {
  cf::Future<std::string> future1, future2, future3;
  {
    Executor executor(5);
    future1 = executor.submit(search, file("test1.txt"), "Test");
    future2 = executor.submit(search, file("test2.txt"), "synergy");
    future3 = executor.submit(search, file("test3.txt"), "Something Else");
  }
  print(future1.result());
  print(future2.result());
  print(future3.result());
}

int main(int argc, char** argv) {
  return seed::search_main(argc, argv, []<class Executor> { basic_search<Executor>(); });
}
