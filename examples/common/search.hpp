// The shared part of the file-search examples (seed 004, "Using the New Python 3.2
// Concurrent Programming Features"): the text files, search(), search_file(),
// process_result(), and search_main(), which runs a program on the executor chosen by
// --executor=thread|process.
#pragma once

#include <cfutures/cfutures.hpp>
#include <cstdio>
#include <string>
#include <vector>
#ifdef CFUTURES_EXAMPLES_PROCESS_POOL
#include <cfutures/process_pool.hpp>
#endif

#include "seed.hpp"

namespace seed {

// The files to search, test1.txt to test5.txt, written into a new temporary directory on
// first use (removed at exit). file("test2.txt") is the path of one of them.
const std::vector<std::string>& files();
std::string file(const std::string& name);

// What the article's search returns: "'Test' found in test1.txt at index 10", or
// "'Tset' not found in test2.txt".
std::string search(const std::string& filename, const std::string& target);
// search(filename, "Synergy"), for map.
std::string search_file(const std::string& filename);
// Prints "callback on result: " and the future's result.
void process_result(cf::Future<std::string> future);

// Runs program<Executor>() with the executor chosen by --executor (thread by default).
//   int main(int argc, char** argv) {
//     return seed::search_main(argc, argv, []<class Executor> { basic_search<Executor>(); });
//   }
template <class Program>
int search_main(int argc, char** argv, Program program) {
  init(argc, argv);
  files();  // the files exist before any worker starts
  if (!use_processes()) {
    program.template operator()<cf::ThreadPoolExecutor>();
    return 0;
  }
#ifdef CFUTURES_EXAMPLES_PROCESS_POOL
  program.template operator()<cf::ProcessPoolExecutor>();
  return 0;
#else
  std::fprintf(stderr, "%s: this build has no cf::ProcessPoolExecutor\n", argv[0]);
  return 2;
#endif
}

}  // namespace seed
