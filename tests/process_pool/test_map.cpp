// cf::ProcessPoolExecutor::map, with and without chunksize and buffersize (CPython
// executor.py test_map*, test_process_pool.py test_shutdown.py ).
#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include "core_fixtures.hpp"
#include "tasks.hpp"

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

namespace {

// An endless input that counts how many positions were read.
struct Counter {
  long* reads;
  struct iterator {
    long value;
    long* reads;
    long operator*() const {
      ++*reads;
      return value;
    }
    iterator& operator++() {
      ++value;
      return *this;
    }
    bool operator==(const iterator&) const { return false; }
  };
  iterator begin() const { return {0, reads}; }
  iterator end() const { return {0, reads}; }
};

std::string to_text(int x) { return std::to_string(x); }

int action_of(int action) { return action; }
int action_of(const pp::Trap& trap) { return trap.action; }

using cftest::collect;

}  // namespace

TEST(ProcessPoolMap, MatchesBuiltinMapForEveryChunksize) {  // CPython test_map,
  cf::ProcessPoolExecutor pool(2);
  std::vector<long> bases(40);
  std::vector<int> exps(40);
  for (int i = 0; i < 40; ++i) {
    bases[i] = i;
    exps[i] = i % 5;
  }
  std::vector<long> expected;
  for (int i = 0; i < 40; ++i) expected.push_back(pp::power(bases[i], exps[i]));
  for (std::size_t chunksize : {1u, 3u, 6u, 40u, 50u}) {
    EXPECT_EQ(collect(pool.map(pp::power, bases, exps, cf::MapOptions{.chunksize = chunksize})), expected)
        << "chunksize " << chunksize;
  }
}

TEST(ProcessPoolMap, ShortestRangeWins) {
  cf::ProcessPoolExecutor pool(2);
  EXPECT_EQ(collect(pool.map(pp::add, std::vector{1, 2, 3}, std::vector{10, 20})), (std::vector{11, 22}));
}

TEST(ProcessPoolMap, ZeroChunksizeOrBuffersizeIsAnError) {
  cf::ProcessPoolExecutor pool(1);
  EXPECT_THROW(pool.map(pp::square, std::vector{1}, cf::MapOptions{.chunksize = 0}), std::invalid_argument);
  EXPECT_THROW(pool.map(pp::square, std::vector{1}, cf::MapOptions{.buffersize = 0}), std::invalid_argument);
}

TEST(ProcessPoolMap, ExceptionFailsItsPositionAndMapContinues) {  // CPython's tests, (main)
  cf::ProcessPoolExecutor pool(2);
  auto range = pool.map(pp::divide, std::vector{4, 6, 8}, std::vector{2, 0, 4});
  auto it = range.begin();
  EXPECT_EQ(*it, 2);
  ++it;
  EXPECT_THROW(*it, std::domain_error);
  ++it;
  EXPECT_EQ(*it, 2);
  ++it;
  EXPECT_TRUE(it == range.end());
}

// CPython's testsb fails the whole chunk where one call throws; here each position of a chunk keeps
// its own outcome (API.md "Thread pool map with chunks", the same for every pool).
TEST(ProcessPoolMap, ExceptionInAChunkFailsOnlyItsPosition) {
  cf::ProcessPoolExecutor pool(2);
  std::vector<int> divisors{1, 1, 1, 1, 0, 1, 1, 1, 1};
  std::vector<int> numbers(9, 6);
  auto range = pool.map(pp::divide, numbers, divisors, cf::MapOptions{.chunksize = 3});
  int position = 0;
  for (auto it = range.begin(); it != range.end(); ++it, ++position) {
    if (position == 4) {
      EXPECT_THROW(*it, std::domain_error) << position;
    } else {
      EXPECT_EQ(*it, 6) << position;
    }
  }
  EXPECT_EQ(position, 9);
}

TEST(ProcessPoolMap, Timeout) {  // CPython's tests
  cf::ProcessPoolExecutor pool(2);
  std::vector<int> results;
  auto range = pool.map(pp::sleep_ms, std::vector{0, 0, 1500}, cf::MapOptions{.timeout = 300ms});
  try {
    for (int r : range) results.push_back(r);
    FAIL() << "no timeout";
  } catch (const cf::TimeoutError&) {
  }
  EXPECT_LE(results.size(), 2u);
  EXPECT_TRUE(range.begin() == range.end());  // 3.14+: the range ends after a timeout
}

TEST(ProcessPoolMap, Buffersize) {  // CPython's tests, ,
  cf::ProcessPoolExecutor pool(2);
  for (std::size_t bs : {1u, 2u, 4u, 8u}) {
    EXPECT_EQ(collect(pool.map(to_text, std::vector{0, 1, 2, 3}, cf::MapOptions{.buffersize = bs})),
              (std::vector<std::string>{"0", "1", "2", "3"}));
  }
  EXPECT_EQ(
      collect(pool.map(pp::add, std::vector{0, 1, 2, 3}, std::vector{0, 1, 2, 3}, cf::MapOptions{.buffersize = 2})),
      (std::vector{0, 2, 4, 6}));
  EXPECT_TRUE(collect(pool.map(pp::square, std::vector<int>{}, cf::MapOptions{.buffersize = 2})).empty());
  EXPECT_TRUE(collect(pool.map([] { return 1; }, cf::MapOptions{.buffersize = 2})).empty());
  EXPECT_TRUE(collect(pool.map([] { return 1; })).empty());
}

TEST(ProcessPoolMap, BuffersizeOnEndlessInput) {  // CPython's tests, ,
  cf::ProcessPoolExecutor pool(2);
  long reads = 0;
  {
    auto range = pool.map([](long x, long y) { return x + y; }, Counter{&reads}, Counter{&reads},
                          cf::MapOptions{.chunksize = 1, .buffersize = 2});
    EXPECT_EQ(reads, 4);  // two calls (of two arguments each) pulled before any read
    auto it = range.begin();
    std::vector<long> first;
    for (int i = 0; i < 3; ++i, ++it) first.push_back(*it);
    EXPECT_EQ(first, (std::vector<long>{0, 2, 4}));
  }
  long chunked_reads = 0;
  auto chunked =
      pool.map([](long x) { return x; }, Counter{&chunked_reads}, cf::MapOptions{.chunksize = 5, .buffersize = 2});
  EXPECT_EQ(chunked_reads, 10);  // buffersize counts chunks, as in CPython
  auto it = chunked.begin();
  EXPECT_EQ(*it, 0);
  EXPECT_EQ(chunked_reads, 15);  // starting to read a chunk submits one more chunk...
  for (long i = 1; i < 5; ++i) {
    ++it;
    EXPECT_EQ(*it, i);
  }
  EXPECT_EQ(chunked_reads, 15);  // ...and reading its other positions submits nothing
  ++it;
  EXPECT_EQ(*it, 5);
  EXPECT_EQ(chunked_reads, 20);
}

TEST(ProcessPoolMap, VoidFunctionYieldsAPositionPerCall) {
  cf::ProcessPoolExecutor pool(2);
  for (std::size_t chunksize : {1u, 3u, 100u}) {
    std::size_t positions = 0;
    // raise(0) sends no signal: a void call that does nothing.
    for (std::monostate done :
         pool.map(pp::raise_signal, std::vector<int>(7, 0), cf::MapOptions{.chunksize = chunksize})) {
      (void)done;
      ++positions;
    }
    EXPECT_EQ(positions, 7u) << "chunksize " << chunksize;
  }
}

// A value that cannot be (de)serialized fails as little of its chunk as can be told apart, with
// SerializationError, and the chunks around it are untouched: an argument the caller cannot
// serialize fails the whole chunk (its message cannot be written); an argument the worker cannot
// deserialize, or a result the caller cannot, fails its position and the rest of the chunk
// (where the next value starts is unknown); a result the worker cannot serialize fails its
// position alone.
TEST(ProcessPoolMap, SerializationErrorFailsAsLittleAsCanBeToldApart) {  // CPython's tests, ,
  using pp::Trap;
  cf::ProcessPoolExecutor pool(2);
  struct Case {
    const char* side;
    bool arguments;
    int action;
    int first_failed;
    int last_failed;
  };
  const Case cases[] = {{"argument, serialized by the caller", true, Trap::kThrowOnSave, 3, 5},
                        {"argument, deserialized by the worker", true, Trap::kThrowOnLoad, 4, 5},
                        {"result, serialized by the worker", false, Trap::kThrowOnSave, 4, 4},
                        {"result, deserialized by the caller", false, Trap::kThrowOnLoad, 4, 5}};
  for (const Case& c : cases) {
    std::vector<Trap> arguments(9);
    std::vector<int> results(9, Trap::kNothing);
    arguments[4].action = c.action;  // the middle chunk of three
    results[4] = c.action;
    auto check = [&](auto&& range) {
      int position = 0;
      for (auto it = range.begin(); it != range.end(); ++it, ++position) {
        if (position >= c.first_failed && position <= c.last_failed) {
          EXPECT_THROW(*it, cf::SerializationError) << c.side << ", position " << position;
        } else {
          EXPECT_EQ(action_of(*it), position == 4 ? c.action : Trap::kNothing) << c.side << ", position " << position;
        }
      }
      EXPECT_EQ(position, 9) << c.side;
    };
    if (c.arguments) {
      check(pool.map(pp::take_trap, arguments, cf::MapOptions{.chunksize = 3}));
    } else {
      check(pool.map(pp::make_trap, results, cf::MapOptions{.chunksize = 3}));
    }
  }
  EXPECT_EQ(pool.submit(pp::square, 3).result(), 9);
}

TEST(ProcessPoolMap, DestroyingTheRangeCancelsWhatHasNotStarted) {  // CPython's tests
  cf::ProcessPoolExecutor pool(1);
  std::vector<int> inputs(20, 250);
  {
    auto range = pool.map(pp::sleep_ms, inputs);
    auto it = range.begin();
    EXPECT_EQ(*it, 250);
  }
  // Only what was already sent to the worker still runs: shutdown does not take the 19 * 250 ms
  // that the rest would (a generous bound: a loaded machine took 0.85 s with 50 ms calls).
  const auto start = std::chrono::steady_clock::now();
  pool.shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
}

TEST(ProcessPoolMap, ShutdownRightAfterMap) {  // CPython bpo-12456
  cf::ProcessPoolExecutor pool(2);
  auto range = pool.map(to_text, std::vector<int>(3, 2));
  pool.shutdown();
  EXPECT_EQ(collect(range), (std::vector<std::string>(3, "2")));
}

TEST(ProcessPoolMap, ScopeEndsThePool) {  // CPython's tests (context manager)
  std::vector<int> got;
  {
    cf::ProcessPoolExecutor pool(2);
    got = collect(pool.map([](int x) { return std::abs(x); }, std::vector{-5, -4, -3, -2, -1, 0, 1, 2, 3, 4}));
  }
  EXPECT_EQ(got, (std::vector{5, 4, 3, 2, 1, 0, 1, 2, 3, 4}));
}

TEST(ProcessPoolMap, RangeOutlivesThePool) {  // CPython's tests (test_del_shutdown)
  auto make = [] {
    cf::ProcessPoolExecutor pool(2);
    return pool.map(pp::square, std::vector{1, 2, 3, 4, 5, 6}, cf::MapOptions{.chunksize = 2});
  };
  auto range = make();
  EXPECT_EQ(collect(range), (std::vector{1, 4, 9, 16, 25, 36}));
}

TEST(ProcessPoolMap, LazyRangeEndsQuietlyOnceThePoolIsGone) {
  long reads = 0;
  std::optional<cf::MapRange<long>> range;
  {
    cf::ProcessPoolExecutor pool(1);
    range.emplace(pool.map([](long x) { return x; }, Counter{&reads}, cf::MapOptions{.buffersize = 2}));
  }
  EXPECT_EQ(collect(*range), (std::vector<long>{0, 1}));
}

TEST(ProcessPoolMap, LargeChunkedMap) {
  cf::ProcessPoolExecutor pool(2);
  std::vector<int> input(100000);
  for (int i = 0; i < 100000; ++i) input[i] = i;
  long long sum = 0;
  for (int r : pool.map(pp::ident, input, cf::MapOptions{.chunksize = 1000})) sum += r;
  EXPECT_EQ(sum, 100000LL * 99999 / 2);
}

TEST(ProcessPoolMap, AfterShutdownThrows) {
  cf::ProcessPoolExecutor pool(1);
  pool.shutdown();
  EXPECT_THROW(pool.map(pp::square, std::vector{1}), cf::ExecutorShutdown);
}
