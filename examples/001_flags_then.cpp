// Seed 001 (Fluent Python, chapters 17 and 21) as a pipeline of continuations: each flag's
// download is submitted to a thread pool, `then` shows and saves it as soon as it arrives (in
// the pool thread that downloaded it), and `when_all` joins the 20 pipelines. The nearest
// Python is the book's asyncio version: asyncio.gather over one download_one per flag.
#include <algorithm>
#include <cfutures/compose.hpp>

#include "common/flags.hpp"
#include "common/seed.hpp"

namespace cf = concurrent::futures;
using namespace flags;

constexpr std::size_t MAX_WORKERS = 20;

std::size_t download_many(const std::vector<std::string>& cc_list) {
  cf::ThreadPoolExecutor executor(static_cast<int>(std::min(MAX_WORKERS, cc_list.size())));
  std::vector<cf::Future<std::string>> to_do;
  for (const auto& cc : seed::sorted(cc_list)) {
    to_do.push_back(executor.submit(get_flag, cc).then([cc](const std::string& image) {
      show(cc);
      save_flag(image, seed::lower(cc) + ".gif");
      return cc;
    }));
  }
  auto all = cf::when_all(to_do);  // one future for the 20 pipelines; no thread waits on it
  std::size_t count = 0;
  for (const auto& done : all.result()) {  // the only wait, for all of them at once
    done.result();                         // rethrows a download or a save that failed
    ++count;
  }
  return count;
}

int main(int argc, char** argv) { return flags::main(argc, argv, download_many); }
