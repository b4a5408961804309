// Seed 001 (Fluent Python, chapter 17), "Launching Processes with concurrent.futures": the
// map version with ProcessPoolExecutor in place of ThreadPoolExecutor (as many workers as
// CPUs). download_one is a plain function, so the worker processes can run it.
#include <cfutures/process_pool.hpp>

#include "common/flags.hpp"
#include "common/seed.hpp"

namespace cf = concurrent::futures;
using namespace flags;

std::size_t download_many(const std::vector<std::string>& cc_list) {
  auto res = [&] {
    cf::ProcessPoolExecutor executor;
    return executor.map(download_one, seed::sorted(cc_list));
  }();
  return seed::list(res).size();
}

int main(int argc, char** argv) { return flags::main(argc, argv, download_many); }
