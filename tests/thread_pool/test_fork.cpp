// fork() and the thread pool: a child forked from inside a pool task, or while a pool is busy,
// can create and use a fresh pool and exit cleanly (no inherited lock or thread list makes it
// hang or join the parent's threads) (CPython's test_hang_global_shutdown_lock, bpo-45021;
// test_process_fork_from_a_threadpool, bpo-43944).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "child_process.hpp"
#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;

// In a forked child: uses a fresh pool, then ends the child; returns only in the parent.
pid_t fork_child_using_a_fresh_pool() {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  int code = 1;
  {
    cf::ThreadPoolExecutor pool(2);
    auto a = pool.submit([] { return 20; });
    auto b = pool.submit([] { return 22; });
    if (a.result() + b.result() == 42) code = 0;
  }  // joins the child's own workers only
  _exit(code);
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ThreadPoolFork, ProcessForkFromAThreadPool) {  // CPython's tests
  CFTEST_SKIP_FORK_UNDER_TSAN();
  cf::ThreadPoolExecutor pool(1);
  auto exit_code = pool.submit([] { return wait_exit_code(fork_child_using_a_fresh_pool()); });
  EXPECT_EQ(exit_code.result(), 0);
}

TEST(ThreadPoolFork, ForkWhileAPoolIsBusy) {  // CPython's tests (50 forks there)
  CFTEST_SKIP_FORK_UNDER_TSAN();
  cf::ThreadPoolExecutor busy(4);
  cftest::Gate gate;
  cftest::occupy_workers(busy, gate, 4);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(wait_exit_code(fork_child_using_a_fresh_pool()), 0) << "fork " << i;
    busy.submit([] {});  // the parent's pool keeps taking work meanwhile
  }
  gate.open();
}

}  // namespace
