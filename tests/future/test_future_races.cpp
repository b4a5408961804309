// Races on one future: callbacks added while it completes run exactly once; concurrent
// completions (set_result, set_exception, cancel) have exactly one winner; cancel racing with
// set_running_or_notify_cancel has exactly one winner; result() waiters racing with the
// completion all wake (API.md "Every member may be called from any thread"; CPython: ; the
// issue's race list). Threads are lined up with std::barrier, never with sleeps.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <barrier>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

constexpr int kIterations = 2000;

TEST(FutureRaces, CallbacksAddedWhileTheFutureCompletesRunExactlyOnce) {
  constexpr int kCallbacks = 8;
  for (int i = 0; i < kIterations; ++i) {
    cf::Future<int> f;
    std::array<std::atomic<int>, kCallbacks> calls{};
    std::array<std::thread::id, kCallbacks> ran_in{};
    std::barrier start(2);
    std::thread completer([&] {
      start.arrive_and_wait();
      f.set_result(i);
    });
    start.arrive_and_wait();
    for (int c = 0; c < kCallbacks; ++c) {
      f.add_done_callback([&, c](cf::Future<int> g) {
        EXPECT_EQ(g.result(0s), i) << "a callback runs only once the result is visible";
        ran_in[static_cast<std::size_t>(c)] = std::this_thread::get_id();
        calls[static_cast<std::size_t>(c)].fetch_add(1);
      });
    }
    const auto completer_id = completer.get_id();
    completer.join();
    for (int c = 0; c < kCallbacks; ++c) {
      ASSERT_EQ(calls[static_cast<std::size_t>(c)].load(), 1) << "iteration " << i << ", callback " << c;
      const auto where = ran_in[static_cast<std::size_t>(c)];
      ASSERT_TRUE(where == completer_id || where == std::this_thread::get_id());
    }
  }
}

TEST(FutureRaces, ConcurrentCompletionsHaveExactlyOneWinner) {
  for (int i = 0; i < kIterations / 4; ++i) {
    cf::Future<int> f;
    std::atomic<int> winners{0};
    std::atomic<int> losers{0};
    std::barrier start(4);
    auto attempt = [&](auto&& complete) {
      start.arrive_and_wait();
      try {
        if (complete()) {
          winners.fetch_add(1);
        } else {
          losers.fetch_add(1);
        }
      } catch (const cf::InvalidStateError&) {
        losers.fetch_add(1);
      }
    };
    std::thread a([&] { attempt([&] { return f.set_result(1), true; }); });
    std::thread b([&] { attempt([&] { return f.set_result(2), true; }); });
    std::thread c([&] { attempt([&] { return f.set_exception(std::make_exception_ptr(cftest::OSError())), true; }); });
    std::thread d([&] { attempt([&] { return f.cancel(); }); });
    a.join();
    b.join();
    c.join();
    d.join();
    ASSERT_EQ(winners.load(), 1) << "iteration " << i;
    ASSERT_EQ(losers.load(), 3);
    ASSERT_TRUE(f.done());
    if (f.cancelled()) {
      ASSERT_THROW(f.result(), cf::CancelledError);
    } else if (f.exception() != nullptr) {
      ASSERT_THROW(f.result(), cftest::OSError);
    } else {
      ASSERT_TRUE(f.result() == 1 || f.result() == 2);
    }
  }
}

TEST(FutureRaces, CancelRacingWithSetRunningHasExactlyOneWinner) {  // the state table, row PENDING
  for (int i = 0; i < kIterations; ++i) {
    cf::Future<int> f;
    std::barrier start(2);
    bool cancelled = false;
    std::thread canceller([&] {
      start.arrive_and_wait();
      cancelled = f.cancel();
    });
    start.arrive_and_wait();
    const bool started = f.set_running_or_notify_cancel();
    canceller.join();
    ASSERT_NE(started, cancelled) << "iteration " << i << ": exactly one of start and cancel wins";
    if (started) {
      ASSERT_TRUE(f.running());
      f.set_result(1);
      ASSERT_EQ(f.result(), 1);
    } else {
      ASSERT_TRUE(f.cancelled());
      ASSERT_THROW(f.set_running_or_notify_cancel(), cf::InvalidStateError) << "already notified";
    }
  }
}

TEST(FutureRaces, WaitersRacingWithCompletionAllWake) {
  constexpr int kWaiters = 4;
  for (int i = 0; i < kIterations / 4; ++i) {
    cf::Future<int> f;
    std::barrier start(kWaiters + 1);
    std::atomic<int> woke{0};
    std::vector<std::thread> waiters;
    for (int w = 0; w < kWaiters; ++w) {
      waiters.emplace_back([&, w] {
        start.arrive_and_wait();
        if (w % 2 == 0) {
          EXPECT_EQ(f.result(), i);
        } else {
          EXPECT_EQ(f.result(1h), i);
        }
        woke.fetch_add(1);
      });
    }
    start.arrive_and_wait();
    f.set_result(i);
    for (auto& t : waiters) t.join();
    ASSERT_EQ(woke.load(), kWaiters);
  }
}

}  // namespace
