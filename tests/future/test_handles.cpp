// Future<T> and AnyFuture as handles: copies share one state, equality and std::hash follow
// the state, Future<T> converts to AnyFuture (by copy and by move), and an empty (moved-from)
// handle throws std::logic_error from every member (API.md "cf::Future<T>": "Handles ...
// compare equal (==) and hash (std::hash) by the shared state"; AnyFuture paragraph).
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

static_assert(std::is_copy_constructible_v<cf::Future<int>> && std::is_copy_assignable_v<cf::Future<int>>);
static_assert(std::is_copy_constructible_v<cf::AnyFuture> && std::is_copy_assignable_v<cf::AnyFuture>);
static_assert(std::is_convertible_v<cf::Future<int>, cf::AnyFuture>);
static_assert(std::is_convertible_v<cf::Future<void>, cf::AnyFuture>);
static_assert(!std::is_convertible_v<cf::AnyFuture, cf::Future<int>>);

TEST(FutureHandle, CopiesReferToTheSameFuture) {
  cf::Future<int> f;
  cf::Future<int> copy = f;
  cf::Future<int> assigned;
  assigned = f;
  f.set_result(3);
  EXPECT_TRUE(copy.done());
  EXPECT_EQ(copy.result(), 3);
  EXPECT_EQ(assigned.result(), 3);
}

TEST(FutureHandle, EqualityFollowsTheState) {
  cf::Future<int> a;
  cf::Future<int> b;
  cf::Future<int> a2 = a;
  EXPECT_EQ(a, a2);
  EXPECT_NE(a, b);
  EXPECT_TRUE(a == a2);
  EXPECT_FALSE(a == b);
  cf::AnyFuture any_a = a;
  cf::AnyFuture any_a2 = a2;
  cf::AnyFuture any_b = b;
  EXPECT_EQ(any_a, any_a2);
  EXPECT_NE(any_a, any_b);
}

TEST(FutureHandle, HashFollowsTheState) {
  cf::Future<int> a;
  cf::Future<int> a2 = a;
  EXPECT_EQ(std::hash<cf::Future<int>>{}(a), std::hash<cf::Future<int>>{}(a2));
  EXPECT_EQ(std::hash<cf::AnyFuture>{}(cf::AnyFuture(a)), std::hash<cf::AnyFuture>{}(cf::AnyFuture(a2)));
  // And with many distinct futures, the hashes tell them apart.
  std::vector<cf::Future<int>> many(64);
  std::unordered_set<std::size_t> hashes;
  for (const auto& f : many) hashes.insert(std::hash<cf::Future<int>>{}(f));
  EXPECT_EQ(hashes.size(), many.size());
}

TEST(FutureHandle, UnorderedSetOfFutures) {  // Python's set(fs)
  cf::Future<int> a;
  cf::Future<int> b;
  std::unordered_set<cf::Future<int>> set{a, b, a, cf::Future<int>(a)};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(set.count(a), 1u);
  EXPECT_EQ(set.count(cf::Future<int>()), 0u);

  cf::Future<void> v;
  std::unordered_set<cf::AnyFuture> mixed{a, b, v, cf::AnyFuture(a), cf::AnyFuture(v)};
  EXPECT_EQ(mixed.size(), 3u);
  EXPECT_EQ(mixed.count(cf::AnyFuture(b)), 1u);
}

TEST(FutureHandle, AnyFutureMirrorsTheTypedFuture) {  // API.md AnyFuture members
  cf::Future<int> f;
  cf::AnyFuture any = f;
  EXPECT_FALSE(any.done());
  EXPECT_FALSE(any.running());
  EXPECT_FALSE(any.cancelled());
  f.set_running_or_notify_cancel();
  EXPECT_TRUE(any.running());
  EXPECT_FALSE(any.cancel());
  f.set_result(1);
  EXPECT_TRUE(any.done());
  EXPECT_EQ(any.exception(), nullptr);
  EXPECT_EQ(any.describe(), f.describe());

  cf::Future<void> g;
  cf::AnyFuture any_g = g;
  EXPECT_TRUE(any_g.cancel()) << "cancel through the erased handle";
  EXPECT_TRUE(g.cancelled());
}

TEST(FutureHandle, MoveConversionToAnyFutureLeavesTheFutureEmpty) {
  cf::Future<int> f;
  cf::Future<int> keep = f;
  cf::AnyFuture any = std::move(f);
  EXPECT_EQ(any, cf::AnyFuture(keep));
  EXPECT_THROW((void)f.done(), std::logic_error);  // NOLINT(bugprone-use-after-move): testing it
}

// Every member of an empty handle throws std::logic_error instead of crashing.
TEST(FutureHandle, EmptyFutureThrowsLogicError) {
  cf::Future<int> f;
  cf::Future<int> taken = std::move(f);
  // NOLINTBEGIN(bugprone-use-after-move): the moved-from handle is the subject
  EXPECT_THROW((void)f.cancel(), std::logic_error);
  EXPECT_THROW((void)f.cancelled(), std::logic_error);
  EXPECT_THROW((void)f.running(), std::logic_error);
  EXPECT_THROW((void)f.done(), std::logic_error);
  EXPECT_THROW((void)f.result(), std::logic_error);
  EXPECT_THROW((void)f.result(1s), std::logic_error);
  EXPECT_THROW((void)f.exception(), std::logic_error);
  EXPECT_THROW((void)f.exception(1s), std::logic_error);
  EXPECT_THROW(f.add_done_callback([](const cf::Future<int>&) {}), std::logic_error);
  EXPECT_THROW((void)f.set_running_or_notify_cancel(), std::logic_error);
  EXPECT_THROW(f.set_result(1), std::logic_error);
  EXPECT_THROW(f.set_exception(std::make_exception_ptr(1)), std::logic_error);
  EXPECT_THROW((void)f.describe(), std::logic_error);
  // Empty handles compare equal to each other and unequal to live ones; converting one gives
  // an empty AnyFuture.
  cf::Future<int> g = cf::Future<int>();
  cf::Future<int> g_taken = std::move(g);
  EXPECT_EQ(f, g);
  EXPECT_NE(f, taken);
  cf::AnyFuture any = f;
  EXPECT_THROW((void)any.done(), std::logic_error);
  // A moved-from handle can be assigned again.
  f = taken;
  EXPECT_FALSE(f.done());
  // NOLINTEND(bugprone-use-after-move)
}

TEST(FutureHandle, EmptyAnyFutureThrowsLogicError) {
  cf::AnyFuture any = cf::Future<int>();
  cf::AnyFuture taken = std::move(any);
  // NOLINTBEGIN(bugprone-use-after-move)
  EXPECT_THROW((void)any.cancel(), std::logic_error);
  EXPECT_THROW((void)any.cancelled(), std::logic_error);
  EXPECT_THROW((void)any.running(), std::logic_error);
  EXPECT_THROW((void)any.done(), std::logic_error);
  EXPECT_THROW((void)any.exception(), std::logic_error);
  EXPECT_THROW((void)any.exception(1s), std::logic_error);
  EXPECT_THROW(any.add_done_callback([](const cf::AnyFuture&) {}), std::logic_error);
  EXPECT_THROW((void)any.describe(), std::logic_error);
  EXPECT_FALSE(taken.done());
  // NOLINTEND(bugprone-use-after-move)
}

TEST(FutureHandle, StateLivesAsLongAsAnyHandle) {  // copies share ownership; the last one frees it
  auto token = std::make_shared<int>(0);
  cf::AnyFuture survivor = [&] {
    cf::Future<std::shared_ptr<int>> f;
    f.set_result(token);
    return cf::AnyFuture(f);
  }();
  EXPECT_EQ(token.use_count(), 2) << "the result lives while a handle does";
  survivor = cf::Future<int>();
  EXPECT_EQ(token.use_count(), 1) << "the last handle frees the state and its result";
}

}  // namespace
