// A pool belongs to the process that created it: in a forked child of that process, the
// parent's pool refuses every use at once and its copy is abandoned, and the parent's pool goes
// on (cfutures/process_pool.hpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cfutures/cfutures.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../thread_pool/child_process.hpp"
#include "sanitizers.hpp"
#include "tasks.hpp"

namespace cf = concurrent::futures;

namespace {

// "" if use() throws BrokenProcessPool naming the parent, else what went wrong.
template <class Use>
std::string refusal_problem(const char* what, pid_t parent, Use&& use) {
  std::ostringstream problem;
  try {
    use();
    problem << what << ": not refused\n";
  } catch (const cf::BrokenProcessPool& e) {
    const std::string_view message = e.what();
    const std::string owner = "belongs to process " + std::to_string(parent);
    if (message.find(owner) == std::string_view::npos ||
        message.find("create a new pool in the child") == std::string_view::npos) {
      problem << what << ": BrokenProcessPool(" << message << ")\n";
    }
  } catch (const std::exception& e) {
    problem << what << ": " << e.what() << "\n";
  }
  return problem.str();
}

}  // namespace

TEST(ProcessPoolForkedChild, AForkedChildCannotUseItsParentsPoolAndLeavesItWhole) {
  CFTEST_SKIP_FORK_UNDER_TSAN();
#ifdef CFTEST_ASAN
  GTEST_SKIP() << "AddressSanitizer: fork of a threaded process (see test_fork_server.cpp)";
#endif
  auto pool = std::make_unique<cf::ProcessPoolExecutor>(1);
  const pid_t worker = pool->submit(pp::worker_pid).result();
  const pid_t parent = getpid();
  const auto child = pooltest::run_in_child([&](int out) {
    std::string problems;
    problems += refusal_problem("submit", parent, [&] { (void)pool->submit(pp::square, 4); });
    problems += refusal_problem("map", parent, [&] { (void)pool->map(pp::square, std::vector<int>{1, 2, 3}); });
    problems += refusal_problem("map with buffersize", parent, [&] {
      (void)pool->map(pp::square, std::vector<int>{1, 2, 3}, cf::MapOptions{.buffersize = 1});
    });
    cf::Executor& executor = *pool;
    problems += refusal_problem("Executor::submit", parent, [&] { (void)executor.submit(pp::square, 5); });
    problems += refusal_problem("kill_workers", parent, [&] { pool->kill_workers(); });
    problems += refusal_problem("terminate_workers", parent, [&] { pool->terminate_workers(); });
    problems += refusal_problem("shutdown", parent, [&] { pool->shutdown(); });
    pool.reset();                    // abandons the child's copy: no join of the parent's threads, no message
    cf::ProcessPoolExecutor own(1);  // what the child should do instead
    if (own.submit(pp::square, 6).result() != 36) problems += "the child's own pool failed\n";
    pooltest::write_text(out, problems.empty() ? "ok" : problems);
  });
  EXPECT_EQ(child.exit_code, 0) << child.err;
  EXPECT_EQ(child.out, "ok");
  // The parent's pool neither broke nor lost its worker.
  EXPECT_EQ(pool->submit(pp::square, 7).result(), 49);
  std::vector<int> squares;
  for (int r : pool->map(pp::square, std::vector<int>{1, 2, 3, 4})) squares.push_back(r);
  EXPECT_EQ(squares, (std::vector<int>{1, 4, 9, 16}));
  EXPECT_EQ(pool->submit(pp::worker_pid).result(), worker);
  EXPECT_EQ(pool->worker_count(), 1u);
  pool.reset();
}
