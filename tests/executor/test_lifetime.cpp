// Lifetime and shutdown at the Executor level: futures and map ranges stay valid after the
// executor is destroyed; a lazy map whose executor is gone ends quietly after the calls in
// flight; submit and map after shutdown throw cf::ExecutorShutdown, and a lazy map over a shut
// down executor throws it from the read (API.md "Executors" and decision 4; CPython's tests
// test_run_after_shutdown, test_del_shutdown; CPython: "If the executor object has been
// garbage-collected, ... the iterator silently ends").
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "executor_helpers.hpp"

namespace {

using namespace extest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

TEST(ExecutorLifetime, FuturesOutliveTheExecutor) {  // decision 4
  cf::Future<std::string> f;
  cf::Future<int> failed;
  {
    cf::ThreadPoolExecutor pool(2);
    f = pool.submit([] { return std::string("still here"); });
    failed = pool.submit([]() -> int { throw std::runtime_error("kept"); });
  }
  EXPECT_EQ(f.result(), "still here");
  EXPECT_THROW(failed.result(), std::runtime_error);
}

TEST(ExecutorLifetime, DelShutdown) {  // CPython's test_del_shutdown: drop the executor with an unconsumed map
  std::optional<cf::MapRange<int>> results;
  {
    auto pool = std::make_unique<cf::ThreadPoolExecutor>(3);
    results.emplace(pool->map([](int x) { return x * x; }, std::vector<int>{1, 2, 3, 4, 5}));
    pool.reset();  // the destructor joins the workers: every call has run
  }
  EXPECT_EQ(collect(*results), (std::vector<int>{1, 4, 9, 16, 25}));
}

TEST(ExecutorLifetime, LazyMapAfterTheExecutorIsDestroyedEndsQuietly) {  // CPython: weakref case
  cftest::Counter pulls;
  std::optional<cf::MapRange<int>> results;
  {
    cf::ThreadPoolExecutor pool(2);
    results.emplace(pool.map([](int x) { return x; }, CountingRange(pulls), cf::MapOptions{.buffersize = 2}));
  }
  EXPECT_EQ(collect(*results), (std::vector<int>{0, 1})) << "the two calls in flight, then the end";
  EXPECT_EQ(pulls.value(), 2) << "nothing more is read from the endless input";
}

TEST(ExecutorLifetime, LazyMapOnACustomExecutorDestroyedEndsQuietly) {
  cftest::Counter pulls;
  std::optional<cf::MapRange<int>> results;
  {
    InlineExecutor inline_executor;
    results.emplace(
        inline_executor.map([](int x) { return x + 1; }, CountingRange(pulls), cf::MapOptions{.buffersize = 3}));
  }
  EXPECT_EQ(collect(*results), (std::vector<int>{1, 2, 3}));
}

TEST(ExecutorLifetime, RunAfterShutdown) {  // CPython's test_run_after_shutdown
  cf::ThreadPoolExecutor pool(2);
  pool.shutdown();
  EXPECT_THROW(pool.submit([] { return 1; }), cf::ExecutorShutdown);
  try {
    pool.submit([] {});
    FAIL();
  } catch (const cf::ExecutorShutdown& e) {
    EXPECT_STREQ(e.what(), "cannot schedule new futures after shutdown");
  }
  EXPECT_THROW((void)pool.map([](int x) { return x; }, std::vector<int>{1}), cf::ExecutorShutdown);
  EXPECT_THROW((void)pool.map([](int x) { return x; }, std::vector<int>{1}, cf::MapOptions{.buffersize = 1}),
               cf::ExecutorShutdown);
  // An empty map submits nothing, so it does not throw.
  EXPECT_NO_THROW((void)pool.map([](int x) { return x; }, std::vector<int>{}));
  // ExecutorShutdown is a cf::Error (Python's RuntimeError).
  EXPECT_THROW(pool.submit([] {}), cf::Error);
}

TEST(ExecutorLifetime, LazyMapOverAShutDownExecutorThrowsFromTheRead) {  // CPython: submit raises out of next()
  cf::ThreadPoolExecutor pool(2);
  cftest::Counter pulls;
  auto results = pool.map([](int x) { return x; }, CountingRange(pulls), cf::MapOptions{.buffersize = 1});
  pool.shutdown();
  auto it = results.begin();
  EXPECT_THROW((void)*it, cf::ExecutorShutdown);
}

TEST(ExecutorLifetime, FailedEagerMapCancelsWhatItSubmitted) {  // CPython: a submit error propagates from map()
  ManualExecutor manual;
  cftest::Counter calls;
  manual.refuse_after(2);  // schedule() refuses the third call
  EXPECT_THROW((void)manual.map(
                   [&calls](int x) {
                     calls.add();
                     return x;
                   },
                   std::vector<int>{1, 2, 3}),
               std::runtime_error);
  EXPECT_EQ(manual.queued(), 2u);
  manual.run_all();
  EXPECT_EQ(calls.value(), 0) << "the calls submitted before the failure were cancelled";
}

}  // namespace
