// Seed 001 (Fluent Python, chapter 17), "Downloading with concurrent.futures": the 20 flags
// with ThreadPoolExecutor.map on min(MAX_WORKERS, 20) threads.
#include <algorithm>

#include "common/flags.hpp"
#include "common/seed.hpp"

namespace cf = concurrent::futures;
using namespace flags;

constexpr std::size_t MAX_WORKERS = 20;

std::size_t download_many(const std::vector<std::string>& cc_list) {
  const auto workers = std::min(MAX_WORKERS, cc_list.size());
  // Leaving the block destroys the executor, which calls executor.shutdown(wait=true): it
  // blocks until all threads are done, as the book's with statement.
  auto res = [&] {
    cf::ThreadPoolExecutor executor(static_cast<int>(workers));
    // download_one is called concurrently from multiple threads; res yields each call's
    // result (download_one returns nothing) in input order.
    return executor.map(download_one, seed::sorted(cc_list));
  }();
  return seed::list(res).size();
}

int main(int argc, char** argv) { return flags::main(argc, argv, download_many); }
