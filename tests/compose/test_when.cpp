// cf::when_all (range, list and variadic) and cf::when_any (API.md "Composition"): when they
// complete, what they hold (every input, in input order, duplicates included), that they never
// fail, that cancelled inputs count as done at once, and the empty cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cfutures/compose.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "compose_fixtures.hpp"
#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;

TEST(WhenAll, CompletesOnceEveryInputIsDoneAndKeepsThemInOrder) {
  std::vector<cf::Future<int>> fs(3);
  auto all = cf::when_all(fs);
  static_assert(std::is_same_v<decltype(all), cf::Future<std::vector<cf::Future<int>>>>);
  fs[2].set_result(2);
  fs[0].set_result(0);
  EXPECT_FALSE(all.done());
  fs[1].set_result(1);
  ASSERT_TRUE(all.done());
  const auto& done = all.result();
  ASSERT_EQ(done.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(done[i], fs[i]);
    EXPECT_EQ(done[i].result(), static_cast<int>(i));
  }
}

TEST(WhenAll, NeverFailsItself) {
  std::vector<cf::Future<int>> fs{cftest::make_future(cftest::FState::Failed),
                                  cftest::make_future(cftest::FState::Cancelled),
                                  cftest::make_future(cftest::FState::Finished)};
  auto all = cf::when_all(fs);
  ASSERT_TRUE(all.done());
  EXPECT_EQ(all.exception(), nullptr);
  EXPECT_THROW(all.result()[0].result(), cftest::OSError);
  EXPECT_TRUE(all.result()[1].cancelled());
  EXPECT_EQ(all.result()[2].result(), 42);
}

TEST(WhenAll, ACancelledInputCountsAsDoneAtOnce) {
  std::vector<cf::Future<int>> fs(2);
  auto all = cf::when_all(fs);
  fs[0].set_result(1);
  EXPECT_TRUE(fs[1].cancel());
  EXPECT_TRUE(all.done()) << "done when cancel() returns";
}

TEST(WhenAll, AnEmptyRangeIsDoneAtOnce) {
  auto all = cf::when_all(std::vector<cf::AnyFuture>{});
  ASSERT_TRUE(all.done());
  EXPECT_TRUE(all.result().empty());
  auto none = cf::when_all();
  static_assert(std::is_same_v<decltype(none), cf::Future<std::tuple<>>>);
  EXPECT_TRUE(none.done());
}

TEST(WhenAll, KeepsDuplicates) {
  cf::Future<int> f;
  auto all = cf::when_all(std::vector{f, f, f});
  EXPECT_FALSE(all.done());
  f.set_result(9);
  ASSERT_TRUE(all.done());
  EXPECT_EQ(all.result().size(), 3u);
}

TEST(WhenAll, CompletesInTheThreadThatCompletesTheLastInput) {
  std::vector<cf::Future<int>> fs(2);
  fs[0].set_result(0);
  std::thread::id completed_in;
  auto all = cf::when_all(fs).then(
      [&](const cf::Future<std::vector<cf::Future<int>>>&) { completed_in = std::this_thread::get_id(); });
  std::thread last([f = fs[1]] { f.set_result(1); });
  const auto last_id = last.get_id();
  last.join();
  all.result();
  EXPECT_EQ(completed_in, last_id);
}

TEST(WhenAll, VariadicGivesATupleOfTheInputs) {
  cf::Future<int> a;
  cf::Future<std::string> b;
  cf::Future<void> c;
  cf::AnyFuture d = cftest::make_future(cftest::FState::Finished);
  auto all = cf::when_all(a, b, c, d);
  static_assert(std::is_same_v<
                decltype(all),
                cf::Future<std::tuple<cf::Future<int>, cf::Future<std::string>, cf::Future<void>, cf::AnyFuture>>>);
  a.set_result(1);
  b.set_result("two");
  EXPECT_FALSE(all.done());
  c.set_result();
  ASSERT_TRUE(all.done());
  const auto& [ra, rb, rc, rd] = all.result();
  EXPECT_EQ(ra.result(), 1);
  EXPECT_EQ(rb.result(), "two");
  EXPECT_EQ(rc, c);
  EXPECT_EQ(rd, d);
}

TEST(WhenAll, ABracedListGivesAVector) {
  cf::Future<int> a;
  cf::Future<int> b;
  auto all = cf::when_all({a, b});
  static_assert(std::is_same_v<decltype(all), cf::Future<std::vector<cf::Future<int>>>>);
  a.set_result(1);
  b.set_result(2);
  EXPECT_EQ(all.result()[1].result(), 2);
}

TEST(WhenAll, CancellingTheResultLeavesTheInputsAlone) {
  std::vector<cf::Future<int>> fs(2);
  {
    auto all = cf::when_all(fs);
    EXPECT_TRUE(all.cancel());
    EXPECT_FALSE(fs[0].cancelled());
    fs[0].set_result(1);
    fs[1].set_result(2);
    EXPECT_TRUE(all.cancelled());
  }
  EXPECT_EQ(cftest::use_count(fs[0]), 1u) << "nothing of the when_all is left once it is dropped";
}

TEST(WhenAll, AnEmptyHandleThrowsLogicError) {
  std::vector<cf::Future<int>> fs(2);
  cf::Future<int> taker = std::move(fs[1]);
  EXPECT_THROW(cf::when_all(fs), std::logic_error);
  EXPECT_THROW(cf::when_any(fs), std::logic_error);
}

TEST(WhenAll, OverPoolTasksHoldsNoThread) {
  cf::ThreadPoolExecutor pool(1);
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 100; ++i) fs.push_back(pool.submit([i] { return i; }));
  // With one worker, a when_all that held a thread could never complete.
  auto total = cf::when_all(fs).then(pool, [](const std::vector<cf::Future<int>>& done) {
    int sum = 0;
    for (const auto& f : done) sum += f.result();
    return sum;
  });
  EXPECT_EQ(total.result(std::chrono::seconds(30)), 4950);
}

TEST(WhenAny, CompletesWithTheFirstInputDone) {
  std::vector<cf::Future<int>> fs(3);
  auto any = cf::when_any(fs);
  static_assert(std::is_same_v<decltype(any), cf::Future<cf::WhenAnyResult<cf::Future<int>>>>);
  EXPECT_FALSE(any.done());
  fs[1].set_result(11);
  ASSERT_TRUE(any.done());
  const auto& r = any.result();
  EXPECT_EQ(r.index, 1u);
  ASSERT_EQ(r.futures.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(r.futures[i], fs[i]);
  fs[0].set_result(0);
  EXPECT_EQ(any.result().index, 1u) << "later completions change nothing";
}

TEST(WhenAny, AmongInputsAlreadyDoneTheLowestPositionWins) {
  std::vector<cf::Future<int>> fs(4);
  fs[3].set_result(3);
  fs[1].set_result(1);
  auto any = cf::when_any(fs);
  ASSERT_TRUE(any.done());
  EXPECT_EQ(any.result().index, 1u);
}

TEST(WhenAny, ACancelledOrFailedInputCountsAsDoneAndNeverFailsIt) {
  std::vector<cf::Future<int>> fs(2);
  auto any = cf::when_any(fs);
  EXPECT_TRUE(fs[1].cancel());
  ASSERT_TRUE(any.done());
  EXPECT_EQ(any.exception(), nullptr);
  EXPECT_EQ(any.result().index, 1u);

  std::vector<cf::Future<int>> gs(2);
  auto first_failed = cf::when_any(gs);
  gs[0].set_exception(std::make_exception_ptr(std::runtime_error("x")));
  EXPECT_EQ(first_failed.exception(), nullptr);
  EXPECT_EQ(first_failed.result().index, 0u);
}

TEST(WhenAny, AnEmptyRangeThrowsInvalidArgument) {
  EXPECT_THROW(cf::when_any(std::vector<cf::Future<int>>{}), std::invalid_argument);
}

TEST(WhenAny, KeepsDuplicatesAndMixedHandles) {
  cf::Future<int> f;
  cf::Future<std::string> s;
  auto any = cf::when_any(std::vector<cf::AnyFuture>{f, s, f});
  s.set_result("x");
  ASSERT_TRUE(any.done());
  EXPECT_EQ(any.result().index, 1u);
  EXPECT_EQ(any.result().futures.size(), 3u);
  EXPECT_EQ(any.result().futures[2], cf::AnyFuture(f));
}

TEST(WhenAny, ABracedListWorks) {
  cf::Future<int> a;
  cf::Future<int> b;
  auto any = cf::when_any({a, b});
  b.set_result(1);
  EXPECT_EQ(any.result().index, 1u);
}

TEST(WhenAny, LetsGoOfTheOtherInputsOnceDone) {
  std::vector<cf::Future<int>> fs(3);
  {
    auto any = cf::when_any(fs);
    fs[0].set_result(0);
    ASSERT_TRUE(any.done());
  }
  // The result (which held handles to the inputs) is gone although fs[1] and fs[2] are still
  // pending: its links to them were removed.
  EXPECT_EQ(cftest::use_count(fs[1]), 1u);
  EXPECT_EQ(cftest::use_count(fs[2]), 1u);
  fs[1].set_result(1);
}

TEST(WhenAny, CompletesInTheThreadThatCompletesTheFirstInput) {
  std::vector<cf::Future<int>> fs(2);
  std::thread::id completed_in;
  auto any = cf::when_any(fs).then([&](const cf::WhenAnyResult<cf::Future<int>>& r) {
    completed_in = std::this_thread::get_id();
    return r.index;
  });
  std::thread first([f = fs[0]] { f.set_result(0); });
  const auto first_id = first.get_id();
  first.join();
  EXPECT_EQ(any.result(), 0u);
  EXPECT_EQ(completed_in, first_id);
}

}  // namespace
