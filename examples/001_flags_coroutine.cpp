// Seed 001 (Fluent Python, chapters 17 and 21) with coroutines: download_one co_awaits the
// download (submitted to a thread pool), then shows and saves the flag; download_all starts
// one per flag and co_awaits them all. It is the book's asyncio version line for line
// (`image = await get_flag(cc)`, `await asyncio.gather(...)`), with the downloads on threads.
#include <algorithm>
#include <cfutures/compose.hpp>
#include <cfutures/coroutine.hpp>

#include "common/flags.hpp"
#include "common/seed.hpp"

namespace cf = concurrent::futures;
using namespace flags;

constexpr std::size_t MAX_WORKERS = 20;

// Parameters by value: a coroutine outlives the caller's arguments.
cf::Future<std::string> download_one(cf::ThreadPoolExecutor& executor, std::string cc) {
  const std::string image = co_await executor.submit(get_flag, cc);  // no thread waits here
  show(cc);  // from here on, in the pool thread that downloaded the flag
  save_flag(image, seed::lower(cc) + ".gif");
  co_return cc;
}

cf::Future<std::size_t> download_all(cf::ThreadPoolExecutor& executor, std::vector<std::string> cc_list) {
  std::vector<cf::Future<std::string>> to_do;
  for (const auto& cc : seed::sorted(cc_list)) to_do.push_back(download_one(executor, cc));
  const auto res = co_await cf::when_all(to_do);
  for (const auto& done : res) done.result();  // rethrows a download or a save that failed
  co_return res.size();
}

std::size_t download_many(const std::vector<std::string>& cc_list) {
  cf::ThreadPoolExecutor executor(static_cast<int>(std::min(MAX_WORKERS, cc_list.size())));
  return download_all(executor, cc_list).result();
}

int main(int argc, char** argv) { return flags::main(argc, argv, download_many); }
