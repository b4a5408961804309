// cf::ProcessPoolExecutor: submit, results, exceptions crossing back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cfutures/cfutures.hpp>
#include <csignal>
#include <string>

namespace cf = concurrent::futures;

namespace {
int square(int x) { return x * x; }
pid_t my_pid() { return getpid(); }
}  // namespace

TEST(ProcessPoolSubmit, ReturnsResult) {
  cf::ProcessPoolExecutor pool(2);
  EXPECT_EQ(pool.submit(square, 7).result(), 49);
  EXPECT_EQ(pool.submit([](std::string s) { return s + "!"; }, "hello").result(), "hello!");
}

TEST(ProcessPoolSubmit, RunsInAnotherProcess) {
  cf::ProcessPoolExecutor pool(1);
  EXPECT_NE(pool.submit(my_pid).result(), getpid());
}

TEST(ProcessPoolSubmit, CrashBreaksPool) {
  cf::ProcessPoolExecutor pool(1);
  auto f = pool.submit([] { std::raise(SIGSEGV); });
  EXPECT_THROW(f.result(), cf::BrokenProcessPool);
  try { f.result(); } catch (const cf::BrokenProcessPool& e) { std::cerr << e.what() << "\n"; }
  EXPECT_THROW(pool.submit(square, 1), cf::BrokenProcessPool);
}
