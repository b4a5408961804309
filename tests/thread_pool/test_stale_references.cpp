// The pool keeps no reference to a task's callable or arguments once the task is over: they
// are destroyed before the future completes, whether the call returned, threw, or was
// cancelled (API.md "Once a task has finished, the executor holds no reference to its callable
// or arguments"; CPython's test_no_stale_references). Checked through std::shared_ptr
// use counts, the C++ analogue of CPython's weakref callback.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;

TEST(ThreadPoolStaleReferences, NoStaleReferences) {  // CPython's tests
  cf::ThreadPoolExecutor pool(2);
  auto in_callable = std::make_shared<int>(1);
  auto as_argument = std::make_shared<int>(2);
  auto f = pool.submit([in_callable](const std::shared_ptr<int>& arg) { return *in_callable + *arg; }, as_argument);
  EXPECT_EQ(f.result(), 3);
  // Deterministic: the callable and the arguments are destroyed before the result is published.
  EXPECT_EQ(in_callable.use_count(), 1);
  EXPECT_EQ(as_argument.use_count(), 1);
}

TEST(ThreadPoolStaleReferences, AfterTheCallThrew) {
  cf::ThreadPoolExecutor pool(1);
  auto token = std::make_shared<int>(0);
  auto f = pool.submit([token]() -> int { throw std::runtime_error("x"); });
  EXPECT_THROW(f.result(), std::runtime_error);
  EXPECT_EQ(token.use_count(), 1);
}

TEST(ThreadPoolStaleReferences, AfterTheCallWasCancelled) {
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto token = std::make_shared<int>(0);
  cftest::occupy_workers(pool, gate);
  auto cancelled_by_user = pool.submit([token] { return *token; });
  auto cancelled_by_shutdown = pool.submit([token] { return *token; });
  EXPECT_EQ(token.use_count(), 3);
  EXPECT_TRUE(cancelled_by_user.cancel());
  pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  EXPECT_TRUE(cancelled_by_shutdown.cancelled());
  EXPECT_EQ(token.use_count(), 1) << "shutdown(cancel_futures) dropped both queued calls";
  gate.open();
}

TEST(ThreadPoolStaleReferences, ManyTasksLeaveNothingBehind) {
  cf::ThreadPoolExecutor pool(4);
  auto token = std::make_shared<int>(0);
  std::vector<cf::Future<void>> fs;
  for (int i = 0; i < 1000; ++i) fs.push_back(pool.submit([token] {}));
  for (auto& f : fs) f.result();
  EXPECT_EQ(token.use_count(), 1);
}

}  // namespace
