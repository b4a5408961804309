// Executor::map without buffersize: every call submitted before map() returns, results in input
// order, several ranges (the shortest wins), zero ranges, void calls, a call's exception at its
// own position with the range continuing, map timeouts, and destroying the range early (API.md
// "Executors" map and decision 2; CPython's test_map, test_map_exception [main,
// gh-108518], test_map_timeout, test_map_timeout_from_callable [gh-155852],
// test_map_close, test_free_reference, test_map_submits_without_iteration,
// test_executor_map_current_future_cancel [gh-95166]).
#include <gtest/gtest.h>

#include <list>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "executor_helpers.hpp"

namespace {

using namespace extest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

int power(int base, int exponent) {
  int result = 1;
  for (int i = 0; i < exponent; ++i) result *= base;
  return result;
}

std::pair<int, int> divmod(int a, int b) {
  if (b == 0) throw std::domain_error("integer division or modulo by zero");
  return {a / b, a % b};
}

TEST(ExecutorMap, Map) {  // CPython's test_map: map(pow, r, r) with chunksize 1 and 3
  cf::ThreadPoolExecutor pool(4);
  std::vector<int> r{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<int> expected;
  for (int x : r) expected.push_back(power(x, x));
  EXPECT_EQ(collect(pool.map(power, r, r)), expected);
  EXPECT_EQ(collect(pool.map(power, r, r, cf::MapOptions{.chunksize = 3})), expected)
      << "the thread pool ignores chunksize";
}

TEST(ExecutorMap, ResultsComeInInputOrderWhateverTheCompletionOrder) {
  cf::ThreadPoolExecutor pool(4);
  cftest::Counter finished;
  // Call 0 finishes last: it waits until the three others have finished.
  auto results = pool.map(
      [&finished](int i) {
        if (i == 0) finished.wait_for(3);
        finished.add();
        return i * 10;
      },
      std::vector<int>{0, 1, 2, 3});
  EXPECT_EQ(collect(results), (std::vector<int>{0, 10, 20, 30}));
}

TEST(ExecutorMap, SeveralRangesShortestWins) {  // zip semantics
  cf::ThreadPoolExecutor pool(2);
  std::vector<int> five{1, 2, 3, 4, 5};
  std::list<std::string> three{"a", "b", "c"};
  auto joined = pool.map([](int n, const std::string& s) { return s + std::to_string(n); }, five, three);
  EXPECT_EQ(collect(joined), (std::vector<std::string>{"a1", "b2", "c3"}));
  EXPECT_TRUE(collect(pool.map(std::plus<>{}, five, std::vector<int>{})).empty());
  int array[] = {10, 20};
  EXPECT_EQ(collect(pool.map([](int a, int b, int c) { return a + b + c; }, five, array, five)),
            (std::vector<int>{12, 24}));
}

TEST(ExecutorMap, ZeroRangesIsEmpty) {  // Python: map(fn) with no iterables yields nothing
  cf::ThreadPoolExecutor pool(1);
  int calls = 0;
  auto nothing = pool.map([&calls] { return ++calls; });
  EXPECT_TRUE(nothing.begin() == nothing.end());
  EXPECT_EQ(calls, 0);
}

TEST(ExecutorMap, VoidCallsYieldMonostate) {  // API.md: void-returning map (Python yields None)
  cf::ThreadPoolExecutor pool(2);
  cftest::Counter calls;
  auto results = pool.map([&calls](int) { calls.add(); }, std::vector<int>{1, 2, 3});
  static_assert(std::is_same_v<decltype(results)::value_type, std::monostate>);
  EXPECT_EQ(collect(results).size(), 3u);
  EXPECT_EQ(calls.value(), 3);
}

TEST(ExecutorMap, MoveOnlyResults) {
  cf::ThreadPoolExecutor pool(2);
  auto results = collect(pool.map([](int i) { return std::make_unique<int>(i); }, std::vector<int>{4, 5}));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(*results[0], 4);
  EXPECT_EQ(*results[1], 5);
}

TEST(ExecutorMap, ExceptionAtItsPositionAndTheRangeContinues) {  // CPython's test_map_exception [main]; decision 2
  cf::ThreadPoolExecutor pool(2);
  auto results = pool.map(divmod, std::vector<int>{1, 1, 1, 1}, std::vector<int>{2, 3, 0, 5});
  auto it = results.begin();
  EXPECT_EQ(*it, std::make_pair(0, 1));
  ++it;
  EXPECT_EQ(*it, std::make_pair(0, 1));
  ++it;
  EXPECT_THROW((void)*it, std::domain_error);
  EXPECT_THROW((void)*it, std::domain_error) << "reading the position again rethrows again";
  ++it;
  EXPECT_EQ(*it, std::make_pair(0, 1)) << "the next position still yields its result";
  ++it;
  EXPECT_TRUE(it == results.end());
}

TEST(ExecutorMap, TimeoutErrorFromTheCallableIsThatPositionsException) {  // CPython's tests [main] gh-155852
  cf::ThreadPoolExecutor pool(2);
  cftest::Counter calls;
  auto results = pool.map(
      [&calls](int i) {
        calls.add();
        if (i == 1) throw cf::TimeoutError("the callable's own timeout");
        return i;
      },
      std::vector<int>{0, 1, 2, 3}, cf::MapOptions{.timeout = 1h});
  auto it = results.begin();
  EXPECT_EQ(*it, 0);
  ++it;
  try {
    (void)*it;
    FAIL() << "the callable's TimeoutError was not rethrown";
  } catch (const cf::TimeoutError& e) {
    EXPECT_STREQ(e.what(), "the callable's own timeout");
  }
  ++it;
  EXPECT_EQ(*it, 2) << "not a map timeout: the range goes on";
  ++it;
  EXPECT_EQ(*it, 3);
  ++it;
  EXPECT_TRUE(it == results.end());
  EXPECT_EQ(calls.value(), 4) << "nothing was cancelled";
}

TEST(ExecutorMap, MapTimeoutEndsTheRange) {  // CPython's test_map_timeout: map(sleep, [0, 0, 6], timeout=5)
  cf::ThreadPoolExecutor pool(3);
  cftest::Gate gate;
  const auto start = std::chrono::steady_clock::now();  // the timeout counts from the call
  auto results = pool.map(
      [w = gate.waiter()](int blocks) {
        if (blocks != 0) w();
        return blocks;
      },
      std::vector<int>{0, 0, 1}, cf::MapOptions{.timeout = 100ms});
  std::vector<int> seen;
  auto it = results.begin();
  try {
    for (; it != results.end(); ++it) seen.push_back(*it);
    ADD_FAILURE() << "no TimeoutError";
  } catch (const cf::TimeoutError&) {
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(seen, (std::vector<int>{0, 0}));
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(it == results.end()) << "a map timeout ends the range (Python: StopIteration afterwards)";
}

TEST(ExecutorMap, PerPositionLoopEndsAfterAMapTimeout) {  // CPython's tests: next() after the timeout -> StopIteration
  // The loop that reads each position's exception (decision 2) must also end cleanly when the
  // map times out: the timed-out read ends the range, and advancing past it is the end.
  cf::ThreadPoolExecutor pool(2);
  cftest::Gate gate;
  auto results = pool.map(
      [w = gate.waiter()](int i) {
        if (i == 1) throw std::runtime_error("call 1");
        if (i == 2) w();
        return i;
      },
      std::vector<int>{0, 1, 2, 3}, cf::MapOptions{.timeout = 50ms});
  std::vector<std::string> seen;
  EXPECT_NO_THROW({
    for (auto it = results.begin(); it != results.end(); ++it) {
      try {
        seen.push_back(std::to_string(*it));
      } catch (const cf::TimeoutError&) {
        seen.push_back("timeout");
      } catch (const std::runtime_error& e) {
        seen.push_back(e.what());
      }
    }
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "call 1", "timeout"}));
}

TEST(ExecutorMap, MapTimeoutCountsFromTheCall) {  // CPython: [verified: sleep 1.5 after map(timeout=1)]
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto results = pool.map(
      [w = gate.waiter()](int) {
        w();
        return 0;
      },
      std::vector<int>{0}, cf::MapOptions{.timeout = 2s});
  EXPECT_THROW(cf::Future<int>().result(2100ms), cf::TimeoutError);  // let the whole timeout pass
  auto it = results.begin();
  const auto took = cftest::elapsed([&] { EXPECT_THROW((void)*it, cf::TimeoutError); });
  EXPECT_LT(took, 1500ms) << "the timeout was counted from the read, not from map()";
}

TEST(ExecutorMap, MapTimeoutCancelsTheCurrentAndEveryNotStartedCall) {  // CPython's tests, gh-95166; decision 2
  cftest::Counter calls;
  {
    cf::ThreadPoolExecutor pool(1);
    cftest::Gate gate;
    cftest::occupy_workers(pool, gate);  // the only worker is busy
    auto results = pool.map(
        [&calls](int i) {
          calls.add();
          return i;
        },
        std::vector<int>{1, 2}, cf::MapOptions{.timeout = 0s});
    auto it = results.begin();
    EXPECT_THROW((void)*it, cf::TimeoutError);
    EXPECT_TRUE(it == results.end());
    gate.open();
    pool.shutdown(true);
  }
  EXPECT_EQ(calls.value(), 0) << "neither map call may start after the map timed out";
}

TEST(ExecutorMap, DestroyingTheRangeAfterAReadCancelsNotStartedCalls) {  // CPython's test_map_close
  cftest::Counter calls;
  {
    cf::ThreadPoolExecutor pool(1);
    cftest::Gate gate;
    cftest::Counter started;
    {
      auto results = pool.map(
          [&, w = gate.waiter()](int i) {
            calls.add();
            if (i == 1) {
              started.add();
              w();
            }
            return i;
          },
          std::vector<int>{0, 1, 2, 3, 4});
      auto it = results.begin();
      EXPECT_EQ(*it, 0);
      started.wait_for(1);  // call 1 runs (and cannot be cancelled); 2, 3, 4 are queued
    }
    gate.open();
  }
  EXPECT_EQ(calls.value(), 2) << "calls 2-4 were cancelled with the range";
}

TEST(ExecutorMap, DestroyingANeverAdvancedRangeCancelsNotStartedCalls) {  // decision 2 (CPython cancels nothing)
  cftest::Counter calls;
  {
    cf::ThreadPoolExecutor pool(1);
    cftest::Gate gate;
    cftest::occupy_workers(pool, gate);
    {
      auto results = pool.map(
          [&calls](int i) {
            calls.add();
            return i;
          },
          std::vector<int>{1, 2, 3});
    }
    gate.open();
  }
  EXPECT_EQ(calls.value(), 0);
}

TEST(ExecutorMap, SubmitsWithoutIteration) {  // CPython's test_map_submits_without_iteration
  cftest::Counter calls;
  cf::ThreadPoolExecutor pool(2);
  auto results = pool.map([&calls](int) { calls.add(); }, std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  pool.shutdown(/*wait=*/true);
  EXPECT_EQ(calls.value(), 10) << "every call ran although the range was never read";
}

TEST(ExecutorMap, FreeReference) {  // CPython's test_free_reference: yielded objects are freed when dropped
  cf::ThreadPoolExecutor pool(2);
  auto token = std::make_shared<int>(0);
  auto results = pool.map([token](int) { return token; }, std::vector<int>{0, 1, 2});
  pool.shutdown(true);  // every call done: each copy of the callable is gone, each result stored
  EXPECT_EQ(token.use_count(), 4);
  int reads = 0;
  for (auto value : results) {
    EXPECT_EQ(value, token);
    value.reset();
    ++reads;
    EXPECT_EQ(token.use_count(), 1 + (3 - reads)) << "the range kept a value it yielded";
  }
  EXPECT_EQ(token.use_count(), 1);
}

TEST(ExecutorMap, InvalidOptionsThrowAtTheCall) {  // CPython's tests (buffersize), (chunksize); API.md
  cf::ThreadPoolExecutor pool(1);
  cftest::Counter calls;
  auto fn = [&calls](int i) {
    calls.add();
    return i;
  };
  try {
    (void)pool.map(fn, std::vector<int>{1}, cf::MapOptions{.chunksize = 0});
    FAIL() << "chunksize 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("chunksize"), std::string::npos) << e.what();
  }
  try {
    (void)pool.map(fn, std::vector<int>{1}, cf::MapOptions{.buffersize = 0});
    FAIL() << "buffersize 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("buffersize"), std::string::npos) << e.what();
  }
  pool.shutdown();
  EXPECT_EQ(calls.value(), 0) << "nothing was submitted";
}

}  // namespace
