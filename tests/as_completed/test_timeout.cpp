// cf::as_completed with a timeout: the deadline counts from the call; advancing past it throws
// TimeoutError "N (of M) futures unfinished" after every already-done future was yielded; a
// timeout cancels nothing (API.md "Waiting"; CPython's test_future_times_out,
// test_correct_timeout_exception_msg).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>
#include <unordered_set>
#include <vector>

#include "as_completed_helpers.hpp"

namespace {

using namespace actest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

TEST(AsCompletedTimeout, FutureTimesOut) {  // CPython's test_future_times_out, timeout in {0, 0.1}
  for (auto timeout : {std::chrono::milliseconds(0), std::chrono::milliseconds(100)}) {
    SCOPED_TRACE(timeout.count());
    cf::ThreadPoolExecutor pool(1);
    cftest::Gate gate;
    auto success = make_future(FState::Finished);
    auto failed = make_future(FState::Failed);
    auto cn = make_future(FState::CancelledNotified);
    auto task = pool.submit([w = gate.waiter()] {
      w();
      return 1;
    });
    Futures yielded;
    const auto took = cftest::elapsed([&] {
      try {
        for (auto f : cf::as_completed(Futures{success, failed, cn, task}, timeout)) yielded.push_back(f);
        ADD_FAILURE() << "as_completed did not time out";
      } catch (const cf::TimeoutError&) {
      }
    });
    EXPECT_EQ(yielded, (Futures{success, failed, cn})) << "every already-done future comes before the error";
    EXPECT_GE(took, timeout);
    EXPECT_LT(took, 5s);
  }
}

TEST(AsCompletedTimeout, CorrectTimeoutExceptionMessage) {  // CPython's test_correct_timeout_exception_msg
  auto cn = make_future(FState::CancelledNotified);
  auto pending = make_future(FState::Pending);
  auto running = make_future(FState::Running);
  auto success = make_future(FState::Finished);
  try {
    for (auto f : cf::as_completed(Futures{cn, pending, running, success}, 0s)) (void)f;
    FAIL() << "as_completed did not time out";
  } catch (const cf::TimeoutError& e) {
    EXPECT_STREQ(e.what(), "2 (of 4) futures unfinished");
  }
}

TEST(AsCompletedTimeout, MessageCountsDistinctFuturesStillUnyielded) {
  cf::Future<int> a;
  cf::Future<int> b;
  cf::Future<int> c;
  auto ac = cf::as_completed(Futures{a, b, a, c, b}, 50ms);
  auto it = ac.begin();
  b.set_result(1);
  EXPECT_EQ(*it, b);
  ++it;
  try {
    (void)*it;
    FAIL() << "did not time out";
  } catch (const cf::TimeoutError& e) {
    EXPECT_STREQ(e.what(), "2 (of 3) futures unfinished") << "duplicates count once in both numbers";
  }
}

TEST(AsCompletedTimeout, TimeoutCountsFromTheCall) {  // CPython: end_time = monotonic() + timeout at the call
  cf::Future<int> pending;
  auto ac = cf::as_completed(Futures{pending}, 2s);
  // Let the whole timeout pass before the first read: the read then throws at once instead
  // of waiting another two seconds.
  EXPECT_THROW(cf::Future<int>().result(2100ms), cf::TimeoutError);
  auto it = ac.begin();
  const auto took = cftest::elapsed([&] { EXPECT_THROW((void)*it, cf::TimeoutError); });
  EXPECT_LT(took, 1500ms) << "the timeout was counted from the read, not from the call";
}

TEST(AsCompletedTimeout, AlreadyCompletedFuturesAreYieldedEvenAfterTheDeadline) {
  auto done = make_future(FState::Finished);
  cf::Future<int> pending;
  auto ac = cf::as_completed(Futures{done, pending}, 0s);
  auto it = ac.begin();
  EXPECT_EQ(*it, done);
  ++it;
  EXPECT_THROW((void)*it, cf::TimeoutError);
  // Everything done: a zero timeout never throws.
  EXPECT_EQ(drain(cf::as_completed(Futures{done}, 0s)), (Futures{done}));
  // A negative timeout behaves as zero.
  EXPECT_THROW(drain(cf::as_completed(Futures{pending}, -1s)), cf::TimeoutError);
  EXPECT_THROW(drain(cf::as_completed(Futures{pending}, std::chrono::hours::min())), cf::TimeoutError);
}

TEST(AsCompletedTimeout, NothingIsCancelledOnTimeout) {  // CPython
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto running = pool.submit([w = gate.waiter()] {
    w();
    return 1;
  });
  auto queued = pool.submit([] { return 2; });
  EXPECT_THROW(drain(cf::as_completed(Futures{running, queued}, 20ms)), cf::TimeoutError);
  EXPECT_FALSE(running.cancelled());
  EXPECT_FALSE(queued.cancelled());
  gate.open();
  EXPECT_EQ(running.result(), 1);
  EXPECT_EQ(queued.result(), 2) << "the queued call still ran";
}

TEST(AsCompletedTimeout, HugeTimeoutWaitsForTheCompletion) {  // no overflow into an immediate timeout
  cf::Future<int> f;
  cf::Future<Futures> outcome;
  std::thread reader([&] {
    try {
      outcome.set_result(drain(cf::as_completed(Futures{f}, std::chrono::hours::max())));
    } catch (...) {
      outcome.set_exception(std::current_exception());
    }
  });
  EXPECT_THROW((void)outcome.result(100ms), cf::TimeoutError) << "as_completed(hours::max()) returned early";
  f.set_result(1);
  reader.join();
  EXPECT_EQ(outcome.result(), (Futures{f}));
}

}  // namespace
