// A program with a namespace-scope process pool and a static one, as a Python program creates
// its pool at module level. Run by CTest with and without the early fork server
// (CFUTURES_EARLY_FORK_SERVER=1/0): exits 0 if both pools run their calls, a pool created
// during static initialization uses the early server where there is one, and the program ends
// (the pools shut down at its exit). Built against a shared libcfutures (BUILD_SHARED_LIBS=ON)
// it checks what docs/process-pool.md says of that build.
#include <unistd.h>

#include <cfutures/cfutures.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "process/testing.hpp"

namespace cf = concurrent::futures;

namespace {

int square(int x) { return x * x; }
pid_t worker_parent() { return getppid(); }

cf::ProcessPoolExecutor global_pool(2);

cf::ProcessPoolExecutor& static_pool() {
  static cf::ProcessPoolExecutor pool(1);
  return pool;
}

// A namespace-scope object whose initializer creates the static pool (during static
// initialization too).
const bool static_pool_made = (static_pool(), true);

// A call during static initialization. With libcfutures a static library the fork server's
// entry has not run yet, so it is refused with a message that says so, and the pool stays usable
// from main(). With a shared libcfutures (no early server: the entry ran first) it runs; the
// server of the pool's own, completing the program's static initialization, refuses it there.
enum class StaticCall { kRefused, kRan, kWrong };
const StaticCall call_during_static_initialization = [] {
  try {
    return global_pool.submit(square, 2).result() == 4 ? StaticCall::kRan : StaticCall::kWrong;
  } catch (const cf::BrokenProcessPool& e) {
    return std::strstr(e.what(), "static initialization") != nullptr ? StaticCall::kRefused : StaticCall::kWrong;
  }
}();

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "global_pool: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  expect(static_pool_made, "the static pool was not made");
  expect(call_during_static_initialization == (CF_SHARED_LIBCFUTURES ? StaticCall::kRan : StaticCall::kRefused),
         "a call during static initialization: not as documented");
  expect(global_pool.max_workers() == 2, "global_pool.max_workers() != 2");
  expect(CF_SHARED_LIBCFUTURES || global_pool.worker_count() == 0,
         "the global pool started workers before its first use");
  expect(global_pool.submit(square, 3).result() == 9, "global_pool: square(3) != 9");
  expect(static_pool().submit(square, 4).result() == 16, "static_pool: square(4) != 16");
  std::vector<int> squares;
  for (int r : global_pool.map(square, std::vector<int>{1, 2, 3})) squares.push_back(r);
  expect(squares == std::vector<int>{1, 4, 9}, "global_pool.map");
  const char* setting = std::getenv("CFUTURES_EARLY_FORK_SERVER");
  const bool early_wanted = !CF_SHARED_LIBCFUTURES && (setting == nullptr || std::strcmp(setting, "0") != 0);
  const pid_t early = cf::detail::process::testing::early_fork_server().pid;
  expect(early_wanted == (early > 0), "the early fork server is not there as asked");
  if (early > 0) {
    expect(global_pool.submit(worker_parent).result() == early, "the global pool does not use the early server");
    expect(static_pool().submit(worker_parent).result() == early, "the static pool does not use the early server");
  }
  if (failures == 0) std::puts("global_pool: ok");
  return failures == 0 ? 0 : 1;
}
