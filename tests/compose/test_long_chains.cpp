// Long chains of continuations (API.md "Composition"; the targets): a million thens on
// a done future, a million attached to a pending future that then completes, and a pending
// chain whose source is destroyed. None may recurse a million deep (the stack of a test
// thread is 8 MiB: a recursion this deep would overflow it), and every link runs in the
// completing thread.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;

constexpr int kLinks = 1'000'000;

TEST(LongChains, AMillionThensOnADoneFuture) {
  cf::Future<int> f;
  f.set_result(0);
  cf::Future<int> g = f;
  for (int i = 0; i < kLinks; ++i) g = g.then([](int x) { return x + 1; });
  ASSERT_TRUE(g.done());
  EXPECT_EQ(g.result(), kLinks);
}

TEST(LongChains, AMillionThensOnAPendingFutureThatThenCompletes) {
  cf::Future<int> f;
  cf::Future<int> g = f;
  std::thread::id last_ran_in;
  for (int i = 0; i < kLinks; ++i) g = g.then([](int x) { return x + 1; });
  g = g.then([&](int x) {
    last_ran_in = std::this_thread::get_id();
    return x;
  });
  EXPECT_FALSE(g.done());
  std::thread completer([f] { f.set_result(0); });
  const auto completer_id = completer.get_id();
  completer.join();
  ASSERT_TRUE(g.done()) << "set_result returns once the whole chain has run";
  EXPECT_EQ(g.result(), kLinks);
  EXPECT_EQ(last_ran_in, completer_id);
}

TEST(LongChains, AMillionFollowedFuturesCompleting) {
  // Each link returns a future that the next completes: following, not plain values.
  cf::Future<int> f;
  cf::Future<int> g = f;
  for (int i = 0; i < kLinks / 4; ++i) {
    g = g.then([](int x) {
      cf::Future<int> inner;
      inner.set_result(x + 1);
      return inner;
    });
  }
  f.set_result(0);
  EXPECT_EQ(g.result(), kLinks / 4);
}

TEST(LongChains, AFailureRunsDownAMillionLinks) {
  cf::Future<int> f;
  cf::Future<int> g = f;
  for (int i = 0; i < kLinks; ++i) g = g.then([](int x) { return x + 1; });
  f.set_exception(std::make_exception_ptr(std::runtime_error("first")));
  EXPECT_EQ(g.exception(), f.exception());
}

TEST(LongChains, APendingChainWhoseSourceIsDestroyed) {
  cf::Future<int> g = [] {
    cf::Future<int> f;
    cf::Future<int> chain = f;
    for (int i = 0; i < kLinks; ++i) chain = chain.then([](int x) { return x + 1; });
    return chain;
  }();  // f's last handle dies here: nobody can complete it
  ASSERT_TRUE(g.done());
  EXPECT_THROW(g.result(), cf::CancelledError);
}

TEST(LongChains, AMillionContinuationsOnOneFuture) {
  cf::Future<int> f;
  std::vector<cf::Future<void>> gs;
  gs.reserve(kLinks);
  long sum = 0;
  for (int i = 0; i < kLinks; ++i) gs.push_back(f.then([&sum](int x) { sum += x; }));
  f.set_result(1);
  EXPECT_EQ(sum, kLinks);
  EXPECT_TRUE(gs.back().done());
}

}  // namespace
