// Executor::map with buffersize: the input is read lazily, so an endless input works; between
// reads `buffersize` calls are in flight, one more while a read waits (API.md "Executors" map;
// CPython 3.14 test_map_buffersize_value_validation, test_map_buffersize,
// ..._on_multiple_iterables, ..._on_infinite_iterable, ..._on_multiple_infinite_iterables,
// ..._on_empty_iterable, ..._without_iterable, ..._when_buffer_is_full).
// CountingRange counts the items read from the input.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "executor_helpers.hpp"

namespace {

using namespace extest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

std::string to_string(int i) { return std::to_string(i); }

TEST(ExecutorMapBuffersize, ValueValidation) {  // CPython's tests: 0 (and -1) -> ValueError
  cf::ThreadPoolExecutor pool(1);
  EXPECT_THROW((void)pool.map(to_string, std::vector<int>{1}, cf::MapOptions{.buffersize = 0}), std::invalid_argument);
  // A negative value cannot be expressed: buffersize is a std::optional<std::size_t>.
}

TEST(ExecutorMapBuffersize, Buffersize) {  // CPython's tests: bs in {1, 2, 4, 8} over range(4)
  cf::ThreadPoolExecutor pool(2);
  for (std::size_t bs : {1u, 2u, 4u, 8u}) {
    SCOPED_TRACE(bs);
    EXPECT_EQ(collect(pool.map(to_string, std::vector<int>{0, 1, 2, 3}, cf::MapOptions{.buffersize = bs})),
              (std::vector<std::string>{"0", "1", "2", "3"}));
  }
}

TEST(ExecutorMapBuffersize, OnMultipleIterables) {  // CPython's tests
  cf::ThreadPoolExecutor pool(2);
  std::vector<int> ints{0, 1, 2, 3};
  EXPECT_EQ(collect(pool.map(std::plus<>{}, ints, ints, cf::MapOptions{.buffersize = 2})),
            (std::vector<int>{0, 2, 4, 6}));
}

TEST(ExecutorMapBuffersize, OnInfiniteIterable) {  // CPython's tests: count(), bs=2 -> first 3 results
  cf::ThreadPoolExecutor pool(2);
  cftest::Counter pulls;
  auto results = pool.map(to_string, CountingRange(pulls), cf::MapOptions{.buffersize = 2});
  auto it = results.begin();
  for (const char* expected : {"0", "1", "2"}) {
    EXPECT_EQ(*it, expected);
    ++it;
  }
  EXPECT_EQ(pulls.value(), 2 + 3) << "buffersize items at the call, then one per read";
}

TEST(ExecutorMapBuffersize, OnMultipleInfiniteIterables) {  // CPython's tests: two count()s -> 0, 2, 4
  cf::ThreadPoolExecutor pool(2);
  cftest::Counter pulls_a;
  cftest::Counter pulls_b;
  auto results =
      pool.map(std::plus<>{}, CountingRange(pulls_a), CountingRange(pulls_b), cf::MapOptions{.buffersize = 2});
  auto it = results.begin();
  for (int expected : {0, 2, 4}) {
    EXPECT_EQ(*it, expected);
    ++it;
  }
  EXPECT_EQ(pulls_a.value(), pulls_b.value());
}

TEST(ExecutorMapBuffersize, OnEmptyIterable) {  // CPython's tests
  cf::ThreadPoolExecutor pool(1);
  auto results = pool.map(to_string, std::vector<int>{}, cf::MapOptions{.buffersize = 2});
  EXPECT_TRUE(results.begin() == results.end());
}

TEST(ExecutorMapBuffersize, WithoutIterable) {  // CPython's tests
  cf::ThreadPoolExecutor pool(1);
  auto results = pool.map([] { return 1; }, cf::MapOptions{.buffersize = 2});
  EXPECT_TRUE(results.begin() == results.end());
}

TEST(ExecutorMapBuffersize, WhenBufferIsFull) {  // CPython's tests: only bs items are read from the input
  cftest::Counter pulls;
  CountingRange ints(pulls, 4);
  cf::ThreadPoolExecutor pool(2);
  auto results = pool.map(to_string, ints, cf::MapOptions{.buffersize = 2});
  pool.shutdown();
  EXPECT_EQ(pulls.value(), 2) << "Python: next(ints) == 2 afterwards";
}

TEST(ExecutorMapBuffersize,
     InFlightBetweenReadsAndWhileAReadWaits) {  // API.md: "buffersize calls ... at most one more"
  cf::ThreadPoolExecutor pool(4);
  cftest::Counter pulls;
  cftest::Gate gate;
  auto results = pool.map(
      [w = gate.waiter()](int i) {
        if (i == 0) w();
        return i;
      },
      CountingRange(pulls), cf::MapOptions{.buffersize = 3});
  EXPECT_EQ(pulls.value(), 3) << "buffersize calls submitted at the call";
  auto it = results.begin();
  cf::Future<int> first;
  std::thread reader([&] { first.set_result(*it); });  // waits for call 0, blocked on the gate
  pulls.wait_for(4);
  EXPECT_EQ(pulls.value(), 4) << "exactly one more is submitted while the read waits";
  EXPECT_FALSE(first.done());
  gate.open();
  reader.join();
  EXPECT_EQ(first.result(), 0);
  ++it;
  EXPECT_EQ(pulls.value(), 4) << "advancing does not submit again for the same read";
  for (int expected = 1; expected <= 5; ++expected, ++it) {
    EXPECT_EQ(*it, expected);
    EXPECT_EQ(pulls.value(), 4 + expected);
  }
}

TEST(ExecutorMapBuffersize, RvalueInputIsKeptAliveAndLvalueInputIsReferenced) {
  cf::ThreadPoolExecutor pool(2);
  auto from_temporary = pool.map(to_string, std::vector<int>{5, 6, 7}, cf::MapOptions{.buffersize = 1});
  EXPECT_EQ(collect(from_temporary), (std::vector<std::string>{"5", "6", "7"}));
  std::vector<int> named{1, 2, 3};
  auto from_named = pool.map(to_string, named, cf::MapOptions{.buffersize = 1});
  named[2] = 9;  // not read yet: the lazy map reads the caller's range, not a copy
  EXPECT_EQ(collect(from_named), (std::vector<std::string>{"1", "2", "9"}));
}

TEST(ExecutorMapBuffersize, ExceptionContinuesAndTimeoutEnds) {  // decision 2 with a lazy map
  cf::ThreadPoolExecutor pool(2);
  auto results = pool.map(
      [](int i) {
        if (i == 1) throw std::runtime_error("one");
        return i;
      },
      std::vector<int>{0, 1, 2}, cf::MapOptions{.buffersize = 1});
  auto it = results.begin();
  EXPECT_EQ(*it, 0);
  ++it;
  EXPECT_THROW((void)*it, std::runtime_error);
  ++it;
  EXPECT_EQ(*it, 2);
  ++it;
  EXPECT_TRUE(it == results.end());

  cftest::Gate gate;
  cftest::Counter pulls;
  auto timed = pool.map(
      [w = gate.waiter()](int) {
        w();
        return 0;
      },
      CountingRange(pulls), cf::MapOptions{.timeout = 20ms, .buffersize = 2});
  auto t = timed.begin();
  EXPECT_THROW((void)*t, cf::TimeoutError);
  EXPECT_TRUE(t == timed.end()) << "a map timeout ends even an endless range";
  const int pulled = pulls.value();
  EXPECT_TRUE(t == timed.end());
  EXPECT_EQ(pulls.value(), pulled) << "nothing more is read from the input after the timeout";
}

TEST(ExecutorMapBuffersize, DestroyingTheRangeCancelsBufferedCalls) {  // decision 2
  cftest::Counter calls;
  {
    cf::ThreadPoolExecutor pool(1);
    cftest::Gate gate;
    cftest::occupy_workers(pool, gate);
    cftest::Counter pulls;
    {
      auto results = pool.map(
          [&calls](int i) {
            calls.add();
            return i;
          },
          CountingRange(pulls), cf::MapOptions{.buffersize = 4});
    }
    EXPECT_EQ(pulls.value(), 4);
    gate.open();
  }
  EXPECT_EQ(calls.value(), 0);
}

}  // namespace
