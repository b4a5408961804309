// cf::as_completed holds no reference to a future it has yielded (CPython's tests
// test_free_reference_yielded_future, Issue ): once the caller drops the yielded handle,
// the future's state is freed at once. Checked through a std::shared_ptr stored as the result:
// its use_count drops when the state is destroyed. Also: destroying an as_completed range
// after its yielded futures were freed is safe (no use of a freed state).
#include <gtest/gtest.h>

#include <barrier>
#include <memory>
#include <thread>
#include <vector>

#include "as_completed_helpers.hpp"

namespace {

using namespace actest;  // NOLINT(google-build-using-namespace): the tests' vocabulary
using Token = std::shared_ptr<int>;
using TokenFutures = std::vector<cf::Future<Token>>;

TEST(AsCompletedReferences, FreeReferenceYieldedFuture) {  // CPython's tests
  cf::ThreadPoolExecutor pool(2);
  auto token = std::make_shared<int>(0);
  cftest::Gate gate;
  // The only handles are inside as_completed: the input vector is a temporary.
  auto ac = cf::as_completed(TokenFutures{pool.submit([token] { return token; }), pool.submit([w = gate.waiter()] {
                                            w();
                                            return Token();
                                          })});
  auto it = ac.begin();
  {
    cf::Future<Token> yielded = *it;
    EXPECT_EQ(yielded.result(), token);
    EXPECT_EQ(token.use_count(), 2) << "the call is done and its copy released; the result holds one";
  }
  ++it;
  EXPECT_EQ(token.use_count(), 1) << "as_completed still holds the yielded future";
  gate.open();
  EXPECT_EQ((*it).result(), nullptr);
}

TEST(AsCompletedReferences, DestroyingTheRangeAfterYieldedFuturesWereFreed) {
  // The futures complete after the call (so as_completed registered on them), are yielded,
  // and are freed by the caller; destroying the range must not touch their freed states.
  for (int round = 0; round < 50; ++round) {
    auto token = std::make_shared<int>(round);
    auto ac = std::make_unique<cf::AsCompleted<cf::Future<Token>>>([&] {
      TokenFutures fs(3);
      auto range = cf::as_completed(fs);
      for (auto& f : fs) f.set_result(token);
      return range;
    }());
    EXPECT_EQ(token.use_count(), 4);
    auto it = ac->begin();
    for (int i = 0; i < 2; ++i, ++it) EXPECT_EQ((*it).result(), token);
    EXPECT_EQ(token.use_count(), 2) << "two yielded futures freed, one left in the range";
    ac.reset();  // with one future still unread
    EXPECT_EQ(token.use_count(), 1);
  }
}

TEST(AsCompletedReferences, DestroyingTheRangeRightAfterACompletionInAnotherThread) {
  // The completing thread may still be inside its notification when the reader has already
  // taken the future, dropped it and destroyed the range: neither the future's state nor the
  // range's internals may be used after they are freed (checked under ASan and TSan).
  for (int round = 0; round < 500; ++round) {
    cf::Future<int> setter;
    auto ac = std::make_unique<cf::AsCompleted<cf::Future<int>>>(cf::as_completed(Futures{setter}));
    std::barrier start(2);
    std::thread completer([&start, f = std::move(setter)]() mutable {
      start.arrive_and_wait();
      f.set_result(1);
      f = cf::Future<int>();  // the range now holds the only handle
    });
    start.arrive_and_wait();
    {
      auto it = ac->begin();
      EXPECT_EQ((*it).result(), 1);
      ++it;
    }
    ac.reset();
    completer.join();
  }
}

TEST(AsCompletedReferences, AbandonedRangeReleasesPendingFutures) {
  auto token = std::make_shared<int>(0);
  cf::Future<Token> setter;
  {
    auto ac = cf::as_completed(TokenFutures{setter, cf::Future<Token>()});
    auto it = ac.begin();
    setter.set_result(token);
    EXPECT_EQ(*it, setter);
  }  // destroyed while one future is still pending and registered
  setter = cf::Future<Token>();
  EXPECT_EQ(token.use_count(), 1);
}

}  // namespace
