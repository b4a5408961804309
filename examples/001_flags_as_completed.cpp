// Seed 001 (Fluent Python, chapter 17), "Where Are the Futures?": executor.map replaced by
// two loops, one that submits a download per flag and one that gets the results with
// as_completed, on 3 threads. cf::progress adds what the book's flags2 programs get from tqdm:
// a progress line on stderr when it is a terminal (and nothing otherwise, so the output is the
// book's).
#include "common/flags.hpp"
#include "common/seed.hpp"

namespace cf = concurrent::futures;
using namespace flags;

std::size_t download_many(const std::vector<std::string>& cc_list) {
  cf::ThreadPoolExecutor executor(3);
  std::vector<cf::Future<void>> to_do;
  for (const auto& cc : seed::sorted(cc_list)) {
    auto future = executor.submit(download_one, cc);
    to_do.push_back(future);
  }

  std::size_t results = 0;
  for (auto future : cf::progress(cf::as_completed(to_do), {.description = "downloads"})) {
    future.result();  // download_one returns nothing; this rethrows a failed download
    ++results;
  }
  return results;
}

int main(int argc, char** argv) { return flags::main(argc, argv, download_many); }
