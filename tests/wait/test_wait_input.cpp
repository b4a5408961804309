// What cf::wait accepts and how it lists it: any range of Future<T> or AnyFuture, a map whose
// keys are futures, a braced list, duplicates counted once, both lists in order of first
// appearance (API.md "Waiting"; CPython's test_20369; CPython: "fs is any iterable;
// de-duplicated"). compile_errors/ holds what it refuses.
#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <list>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core_fixtures.hpp"
#include "wait_helpers.hpp"

namespace {

using namespace waittest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

TEST(WaitInput, DuplicatesCountOnce) {  // CPython's test_20369
  auto f = make_future(FState::Finished);
  auto result = cf::wait(Futures{f, f});
  expect_split(result, {f}, {});
  cf::Future<int> pending;
  auto timed = cf::wait(Futures{pending, f, pending, f, pending}, 0s);
  expect_split(timed, {f}, {pending});
}

TEST(WaitInput, DuplicatesOfOnePendingFutureAreWaitedForOnce) {
  // With ALL_COMPLETED, a future listed three times must not be counted three times (it
  // would then never reach zero, or reach it early).
  cf::Future<int> a;
  cf::Future<int> b;
  std::thread completer([&] {
    a.set_result(1);
    b.set_result(2);
  });
  auto result = cf::wait(Futures{a, a, b, a, b});
  completer.join();
  expect_split(result, {a, b}, {});
}

TEST(WaitInput, ListsKeepTheOrderOfFirstAppearance) {
  std::vector<cf::Future<int>> fs(8);
  for (std::size_t i = 0; i < fs.size(); i += 2) fs[i].set_result(static_cast<int>(i));
  Futures input{fs[7], fs[0], fs[5], fs[2], fs[7], fs[3], fs[6], fs[1], fs[4], fs[0]};
  auto result = cf::wait(input, 0s);
  expect_split(result, {fs[0], fs[2], fs[6], fs[4]}, {fs[7], fs[5], fs[3], fs[1]});
}

TEST(WaitInput, BracedList) {  // API.md: "or a braced list"
  auto f1 = make_future(FState::Finished);
  auto f2 = make_future(FState::Failed);
  cf::Future<int> f3;
  auto all = cf::wait({f1, f2});
  expect_split(all, {f1, f2}, {});
  auto first = cf::wait({f3, f1}, cf::FIRST_COMPLETED);
  expect_split(first, {f1}, {f3});
  auto timed = cf::wait({f3, f2, f3}, 1ms, cf::ALL_COMPLETED);
  expect_split(timed, {f2}, {f3});
}

TEST(WaitInput, MixedAnyFutureVector) {  // API.md: "Mixed collections use it"
  cf::Future<int> i;
  cf::Future<void> v;
  cf::Future<std::string> s;
  i.set_result(1);
  s.set_result("s");
  std::vector<cf::AnyFuture> mixed{i, v, s, cf::AnyFuture(i)};
  auto result = cf::wait(mixed, 0s);
  static_assert(std::is_same_v<decltype(result), cf::DoneAndNotDone<cf::AnyFuture>>);
  expect_split(result, {cf::AnyFuture(i), cf::AnyFuture(s)}, {cf::AnyFuture(v)});
  std::thread completer([v] { v.set_result(); });
  auto all = cf::wait(mixed);
  completer.join();
  EXPECT_EQ(all.done.size(), 3u);
  EXPECT_TRUE(all.not_done.empty());
}

TEST(WaitInput, AnyRangeType) {  // API.md: "futures is any range"
  auto done = make_future(FState::Finished);
  cf::Future<int> pending;
  std::list<cf::Future<int>> list{done, pending};
  expect_split(cf::wait(list, 0s), {done}, {pending});
  std::deque<cf::Future<int>> deque{pending, done};
  expect_split(cf::wait(deque, 0s), {done}, {pending});
  std::array<cf::Future<int>, 2> array{done, done};
  expect_split(cf::wait(array), {done}, {});
  cf::Future<int> plain[] = {pending, done};
  expect_split(cf::wait(plain, cf::FIRST_COMPLETED), {done}, {pending});
  const Futures constant{done};
  expect_split(cf::wait(constant), {done}, {});
  static_assert(std::is_same_v<decltype(cf::wait(list)), cf::DoneAndNotDone<cf::Future<int>>>);
}

TEST(WaitInput,
     MapsAreWaitedOnByTheirKeys) {  // a first user's report: Python's wait(future_to_url) iterates the dict's keys
  auto done = make_future(FState::Finished);
  cf::Future<int> pending;
  std::unordered_map<cf::Future<int>, std::string> future_to_url{{done, "http://a"}, {pending, "http://b"}};
  auto result = cf::wait(future_to_url, 0s);
  static_assert(std::is_same_v<decltype(result), cf::DoneAndNotDone<cf::Future<int>>>);
  expect_split(result, {done}, {pending});
  EXPECT_EQ(future_to_url.at(result.done[0]), "http://a") << "the handles are the map's keys";

  std::map<cf::AnyFuture, int, bool (*)(const cf::AnyFuture&, const cf::AnyFuture&)> ordered(
      [](const cf::AnyFuture& a, const cf::AnyFuture& b) {
        return std::hash<cf::AnyFuture>{}(a) < std::hash<cf::AnyFuture>{}(b);
      });
  ordered.emplace(done, 1);
  ordered.emplace(pending, 2);
  std::thread completer([pending] { pending.set_result(7); });
  auto all = cf::wait(ordered, cf::ALL_COMPLETED);
  completer.join();
  static_assert(std::is_same_v<decltype(all), cf::DoneAndNotDone<cf::AnyFuture>>);
  EXPECT_EQ(all.done.size(), 2u);
  EXPECT_TRUE(all.not_done.empty());
  auto both = cf::wait(future_to_url, 1s, cf::FIRST_EXCEPTION);  // in the map's order, which is its own
  EXPECT_EQ(std::unordered_set<cf::Future<int>>(both.done.begin(), both.done.end()),
            (std::unordered_set<cf::Future<int>>{done, pending}));
  EXPECT_TRUE(both.not_done.empty());
}

TEST(WaitInput, ReturnedHandlesReferToTheInputFutures) {
  cf::Future<int> f;
  auto result = cf::wait(Futures{f}, 0s);
  ASSERT_EQ(result.not_done.size(), 1u);
  result.not_done[0].set_result(5);
  EXPECT_EQ(f.result(), 5) << "wait() returns handles to the same futures, not copies of values";
}

TEST(WaitInput, EmptyHandleInTheInputThrowsLogicError) {
  cf::Future<int> f;
  cf::Future<int> moved = std::move(f);
  EXPECT_THROW((void)cf::wait(Futures{moved, f}), std::logic_error);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
