// Decision 1: a cancelled future is done for cf::wait from the moment cancel() returns,
// including futures cancelled by shutdown(cancel_futures=true) (API.md "Decisions where CPython
// is weak" 1; CPython hangs there: gh-87893, gh-109934, gh-92001; CPython: pain point ).
#include <gtest/gtest.h>

#include <barrier>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"
#include "wait_helpers.hpp"

namespace {

using namespace waittest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

TEST(WaitCancelled, CancelledNotNotifiedFutureIsDone) {  // gh-87893: CPython reports it not_done
  cf::Future<int> f;
  ASSERT_TRUE(f.cancel());  // CANCELLED, never passed through set_running_or_notify_cancel
  const auto took = cftest::elapsed([&] { expect_split(cf::wait(Futures{f}), {f}, {}); });
  EXPECT_LT(took, 5s);
}

TEST(WaitCancelled, CancelWakesABlockedWait) {  // gh-92001: wait() blocked on a future cancelled later
  for (auto when : {cf::FIRST_COMPLETED, cf::ALL_COMPLETED, cf::FIRST_EXCEPTION}) {
    cf::Future<int> f;
    cf::Future<int> done;
    done.set_result(1);
    std::barrier start(2);
    std::thread canceller([&] {
      start.arrive_and_wait();
      EXPECT_TRUE(f.cancel());
    });
    start.arrive_and_wait();
    // A generous timeout: if cancel() did not wake wait(), the result would show f not done.
    // (FIRST_COMPLETED gets only f: with `done` in the list it would return at once.)
    const Futures input = when == cf::FIRST_COMPLETED ? Futures{f} : Futures{done, f};
    auto result = cf::wait(input, 30s, when);
    canceller.join();
    expect_split(result, input, {});
  }
}

TEST(WaitCancelled, FuturesCancelledByShutdownAreDone) {  // gh-109934: shutdown(cancel_futures=True)
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto blocker = cftest::occupy_workers(pool, gate).front();  // everything below stays queued
  Futures queued;
  for (int i = 0; i < 5; ++i) queued.push_back(pool.submit([i] { return i; }));
  std::barrier start(2);
  std::thread stopper([&] {
    start.arrive_and_wait();
    pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  });
  start.arrive_and_wait();
  auto result = cf::wait(queued, 30s);  // returns once shutdown cancelled them all
  stopper.join();
  expect_split(result, queued, {});
  for (auto& f : queued) EXPECT_TRUE(f.cancelled());
  EXPECT_FALSE(blocker.done()) << "the running task is not cancelled";
  gate.open();
  EXPECT_NO_THROW(blocker.result());
}

}  // namespace
