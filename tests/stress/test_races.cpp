// Targeted races: each test lines two or three threads up on a barrier so that the
// operations under test start together, repeats that many times, and checks the outcome of
// every repetition. Complements the random mix (test_thread_pool_stress.cpp), which finds the
// races; these pin each one down and make a regression fail in milliseconds.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cfutures/cfutures.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "stress_support.hpp"

namespace cf = concurrent::futures;

namespace {

using namespace std::chrono_literals;

std::atomic<long> repetitions_run{0};  // over all tests, printed at the end

// Runs `body(t, i)` on each of `n` threads, `reps` times, all threads starting repetition i
// together; `setup(i)` runs before and `check(i)` after each repetition, in the calling
// thread. An exception anywhere is a test failure, and the threads are always let go.
template <class Setup, class Body, class Check>
void race(int reps, int n, Setup setup, Body body, Check check) {
  std::barrier start(n + 1);
  std::barrier end(n + 1);
  std::atomic<bool> stop{false};
  auto guarded = [](const char* where, auto&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      ADD_FAILURE() << where << " threw " << typeid(e).name() << ": " << e.what();
    } catch (...) {
      ADD_FAILURE() << where << " threw a non-standard exception";
    }
  };
  std::vector<std::jthread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        start.arrive_and_wait();
        if (stop.load()) return;
        guarded("the racing body", [&] { body(t, i); });
        end.arrive_and_wait();
      }
    });
  }
  // Bounded in time too: on a loaded machine the barriers themselves get slow.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  int done = 0;
  for (int i = 0; i < reps && !testing::Test::HasFailure(); ++i, ++done) {
    if (i >= 20 && std::chrono::steady_clock::now() > give_up) {
      std::printf("[races] time budget spent after %d of %d repetitions\n", i, reps);
      break;
    }
    guarded("setup", [&] { setup(i); });
    start.arrive_and_wait();
    end.arrive_and_wait();
    guarded("check", [&] { check(i); });
    if (testing::Test::HasFailure()) ADD_FAILURE() << "in repetition " << i << " of " << reps;
  }
  stop.store(true);
  start.arrive_and_wait();
  repetitions_run += done;
}

// --- Futures without an executor -----------------------------------------------------------

// A done-callback added while another thread completes the future runs exactly once, in one
// of the two threads. (Core bug found by the stress mix: when the completion lands between
// add_done_callback's phase check and its kHooks CAS, the callback is moved into the hook list,
// popped back, and the moved-from std::function is called: bad_function_call, callback lost.)
TEST(Races, AddDoneCallbackWhileCompleting) {
  constexpr int kFutures = 256;  // one thread completes them in order while the other adds
  const int reps = cfstress::scaled(400, 20);
  std::vector<cf::Future<int>> fs(kFutures);
  std::vector<std::atomic<int>> calls(kFutures);
  std::size_t lost = 0;
  race(
      reps, 2,
      [&](int) {
        for (auto& f : fs) f = cf::Future<int>();
        for (auto& c : calls) c = 0;
      },
      [&](int t, int i) {
        for (int k = 0; k < kFutures; ++k) {
          if (t == 0) {
            fs[static_cast<std::size_t>(k)].set_result(i);
          } else {
            fs[static_cast<std::size_t>(k)].add_done_callback(
                [c = &calls[static_cast<std::size_t>(k)]](const cf::Future<int>&) { c->fetch_add(1); });
          }
        }
      },
      [&](int i) {
        for (int k = 0; k < kFutures; ++k) {
          if (calls[static_cast<std::size_t>(k)].load() != 1) {
            ++lost;
            ADD_FAILURE() << "repetition " << i << ", future " << k << ": the callback ran "
                          << calls[static_cast<std::size_t>(k)].load() << " times";
            return;
          }
        }
      });
  EXPECT_EQ(lost, 0u);
}

// set_result, set_exception and cancel from three threads: exactly one wins, the others get
// InvalidStateError (or false), the callback runs once and the final state is the winner's.
TEST(Races, SetResultSetExceptionCancel) {
  const int reps = cfstress::scaled(20000, 500);
  cf::Future<std::string> f;
  std::atomic<int> wins{0}, callbacks{0};
  std::atomic<int> winner{-1};
  race(
      reps, 3,
      [&](int) {
        f = cf::Future<std::string>();
        wins = 0, callbacks = 0, winner = -1;
        f.add_done_callback([&](const cf::Future<std::string>&) { callbacks.fetch_add(1); });
      },
      [&](int t, int) {
        try {
          if (t == 0) f.set_result("a string long enough to be on the heap");
          if (t == 1) f.set_exception(std::make_exception_ptr(std::runtime_error("lost")));
          if (t == 2 && !f.cancel()) return;
          wins.fetch_add(1);
          winner.store(t);
        } catch (const cf::InvalidStateError&) {
        }
      },
      [&](int i) {
        ASSERT_EQ(wins.load(), 1) << "repetition " << i;
        ASSERT_EQ(callbacks.load(), 1) << "repetition " << i;
        ASSERT_TRUE(f.done());
        switch (winner.load()) {
          case 0:
            EXPECT_EQ(f.result(), "a string long enough to be on the heap");
            break;
          case 1:
            EXPECT_THROW(f.result(), std::runtime_error);
            break;
          default:
            EXPECT_TRUE(f.cancelled());
            EXPECT_THROW(f.result(), cf::CancelledError);
        }
      });
}

// result(timeout) that expires just as the future completes: it returns the value or throws
// TimeoutError, and after a TimeoutError the value is still there.
TEST(Races, ResultTimeoutAtCompletion) {
  const int reps = cfstress::scaled(5000, 200);
  cf::Future<int> f;
  std::atomic<int> seen{0};
  race(
      reps, 2, [&](int) { f = cf::Future<int>(), seen = 0; },
      [&](int t, int i) {
        if (t == 0) {
          cfstress::spin(static_cast<std::uint64_t>(i % 50) * 20);
          f.set_result(i);
        } else {
          try {
            seen = f.result(std::chrono::microseconds(i % 30));
          } catch (const cf::TimeoutError&) {
            seen = -1;
          }
        }
      },
      [&](int i) {
        if (seen.load() != -1) {
          ASSERT_EQ(seen.load(), i);
        }
        ASSERT_EQ(f.result(0s), i);
      });
}

// wait() and as_completed() on futures being cancelled and completed by other threads return
// (API.md decision 1: a cancelled future counts as done at once) with consistent partitions.
TEST(Races, WaitAndAsCompletedWhileCancellingAndCompleting) {
  const int reps = cfstress::scaled(3000, 100);
  std::vector<cf::Future<int>> fs(6);
  race(
      reps, 4,
      [&](int) {
        for (auto& f : fs) f = cf::Future<int>();
      },
      [&](int t, int i) {
        switch (t) {
          case 0:
            for (std::size_t k = 0; k < fs.size(); k += 2) fs[k].cancel();
            break;
          case 1:
            for (std::size_t k = 1; k < fs.size(); k += 2) fs[k].set_result(i);
            break;
          case 2: {
            auto [done, not_done] = cf::wait(fs, i % 3 == 0 ? cf::FIRST_COMPLETED : cf::ALL_COMPLETED);
            if (i % 3 != 0) {
              EXPECT_TRUE(not_done.empty());
            }
            EXPECT_FALSE(done.empty());
            break;
          }
          default: {
            std::size_t n = 0;
            for (auto f : cf::as_completed(fs)) {
              EXPECT_TRUE(f.done());
              ++n;
            }
            EXPECT_EQ(n, fs.size());
          }
        }
      },
      [&](int) {});
}

// --- The thread pool ------------------------------------------------------------------------

// cancel() racing with a worker picking the task up (the worker is released by the other
// thread at the same moment): cancel() is true exactly when the task never ran, the state
// agrees, and the done-callback runs once either way.
TEST(Races, CancelWhileWorkerStarts) {
  const int reps = cfstress::scaled(5000, 200);
  cf::ThreadPoolExecutor pool(1);
  std::atomic<bool> release{false};
  std::atomic<int> ran{0}, callbacks{0};
  std::atomic<bool> cancel_won{false};
  cf::Future<void> blocker;
  cf::Future<int> target;
  int won = 0;
  race(
      reps, 2,
      [&](int i) {
        release = false, ran = 0, callbacks = 0, cancel_won = false;
        blocker = pool.submit([&release] { release.wait(false); });
        target = pool.submit([&ran, i] {
          ran.fetch_add(1);
          return i;
        });
        target.add_done_callback([&](const cf::Future<int>&) { callbacks.fetch_add(1); });
      },
      [&](int t, int) {
        if (t == 0) {
          cancel_won = target.cancel();
        } else {
          release = true;
          release.notify_one();
        }
      },
      [&](int i) {
        blocker.result();
        if (!cancel_won) {
          EXPECT_EQ(target.result(), i);
        }
        ASSERT_TRUE(target.done());
        ASSERT_EQ(target.cancelled(), cancel_won.load()) << "repetition " << i;
        ASSERT_EQ(ran.load(), cancel_won ? 0 : 1) << "repetition " << i;
        ASSERT_EQ(callbacks.load(), 1) << "repetition " << i;
        won += cancel_won ? 1 : 0;
      });
  std::printf("[races] cancel won %d of %d\n", won, reps);
}

// shutdown(wait, cancel_futures=true) racing with submits from two threads and with the only
// worker dequeuing: each submit either throws ExecutorShutdown or returns a future that ends
// cancelled or run, never both, and wait() on all of them returns (CPython gh-109934 hangs).
TEST(Races, ShutdownCancelFuturesWhileSubmitting) {
  const int reps = cfstress::scaled(1500, 60);
  std::unique_ptr<cf::ThreadPoolExecutor> pool;
  std::atomic<bool> release{false};
  std::vector<cf::Future<int>> futures[2];
  std::vector<std::unique_ptr<std::atomic<int>>> runs[2];
  int refused = 0, cancelled = 0, ran = 0;
  race(
      reps, 3,
      [&](int) {
        pool = std::make_unique<cf::ThreadPoolExecutor>(1);
        release = false;
        pool->submit([&release] { release.wait(false); });
        for (auto& v : futures) v.clear();
        for (auto& v : runs) v.clear();
        for (auto& v : runs) {
          for (int k = 0; k < 20; ++k) v.push_back(std::make_unique<std::atomic<int>>(0));
        }
      },
      [&](int t, int i) {
        if (t == 2) {
          // Release the worker, so it dequeues while shutdown cancels what is queued.
          release = true;
          release.notify_one();
          pool->shutdown(i % 2 == 0, true);
          return;
        }
        for (int k = 0; k < 20; ++k) {
          try {
            futures[t].push_back(pool->submit([c = runs[t][static_cast<std::size_t>(k)].get(), k] {
              c->fetch_add(1);
              return k;
            }));
          } catch (const cf::ExecutorShutdown&) {
            futures[t].push_back(cf::Future<int>());  // a placeholder: refused
            futures[t].back().cancel();
          }
        }
      },
      [&](int i) {
        pool.reset();  // waits for everything
        for (int t = 0; t < 2; ++t) {
          auto [done, not_done] = cf::wait(futures[t], 10s);
          ASSERT_TRUE(not_done.empty()) << "repetition " << i << ": wait() would hang";
          for (std::size_t k = 0; k < futures[t].size(); ++k) {
            const int r = runs[t][k]->load();
            if (futures[t][k].cancelled()) {
              ASSERT_EQ(r, 0) << "repetition " << i << ": a cancelled task ran";
              ++cancelled;
            } else {
              ASSERT_EQ(r, 1) << "repetition " << i;
              ASSERT_EQ(futures[t][k].result(), static_cast<int>(k));
              ++ran;
            }
          }
        }
      });
  (void)refused;
  std::printf("[races] %d cancelled or refused, %d ran\n", cancelled, ran);
}

// Two threads shut the pool down at once (wait=true and wait=false) while a task of the pool
// shuts it down from inside: nothing deadlocks, every task runs, every worker is gone.
TEST(Races, ConcurrentShutdownsWithOneFromInside) {
  const int reps = cfstress::scaled(1000, 50);
  std::unique_ptr<cf::ThreadPoolExecutor> pool;
  std::vector<cf::Future<int>> fs;
  std::atomic<bool> go{false};
  race(
      reps, 2,
      [&](int i) {
        pool = std::make_unique<cf::ThreadPoolExecutor>(1 + i % 4);
        fs.clear();
        go = false;
        for (int k = 0; k < 8; ++k) {
          fs.push_back(pool->submit([&pool, &go, i, k] {
            if (k == 3) {
              go.wait(false);  // not before every task is submitted
              pool->shutdown(i % 2 == 0);
            }
            return k;
          }));
        }
      },
      [&](int t, int) {
        if (t == 0) {
          go = true;
          go.notify_all();
        }
        pool->shutdown(t == 0);
      },
      [&](int i) {
        pool->shutdown(true);
        for (int k = 0; k < 8; ++k) ASSERT_EQ(fs[static_cast<std::size_t>(k)].result(), k) << "repetition " << i;
        pool.reset();
      });
}

// A map range destroyed while the workers take its calls: calls not started are cancelled,
// so with every started call blocked, at most max_workers of them ever run.
TEST(Races, MapRangeDestroyedWhileWorkersStart) {
  const int reps = cfstress::scaled(2000, 80);
  cf::ThreadPoolExecutor pool(3);
  std::atomic<int> entered{0};
  std::atomic<bool> open{false};
  using Range = decltype(pool.map([](int) { return 0; }, std::vector<int>{}));
  std::unique_ptr<Range> range;
  int cancelled = 0;
  race(
      reps, 2,
      [&](int i) {
        entered = 0, open = false;
        cf::MapOptions options;
        if (i % 2 == 1) options.buffersize = 4;
        range = std::make_unique<Range>(pool.map(
            [&](int) {
              entered.fetch_add(1);
              open.wait(false);
              return 0;
            },
            std::vector<int>(10), options));
      },
      [&](int t, int) {
        if (t == 0) range.reset();
      },
      [&](int i) {
        const int started = entered.load();
        open = true;
        open.notify_all();
        ASSERT_LE(started, 3) << "repetition " << i;
        cancelled += 10 - started;
      });
  pool.shutdown();
  EXPECT_LE(entered.load(), 3);
  std::printf("[races] %d map calls cancelled unstarted\n", cancelled);
}

// A lazy map range outlives its executor: it yields what was in flight, then ends quietly.
TEST(Races, LazyMapOutlivesExecutor) {
  const int reps = cfstress::scaled(1000, 50);
  for (int i = 0; i < reps; ++i) {
    auto pool = std::make_unique<cf::ThreadPoolExecutor>(2);
    auto range = pool->map([](int x) { return x * 2; }, std::vector<int>(100, 21),
                           cf::MapOptions{.buffersize = 1 + static_cast<std::size_t>(i % 5)});
    std::jthread destroyer([&] { pool.reset(); });
    int n = 0;
    for (int v : range) {
      ASSERT_EQ(v, 42);
      ++n;
    }
    destroyer.join();
    ASSERT_LE(n, 100);
    ASSERT_GE(n, 1 + i % 5);  // the calls submitted before the executor went still yield
  }
}

// The last owner of a pool drops it from inside one of its own tasks: the destructor runs on
// a worker (shutdown from a task), the other tasks still finish, and no thread is left.
TEST(Races, PoolDestroyedByItsOwnTask) {
  const int reps = cfstress::scaled(500, 30);
  for (int i = 0; i < reps; ++i) {
    auto holder =
        std::make_shared<std::unique_ptr<cf::ThreadPoolExecutor>>(std::make_unique<cf::ThreadPoolExecutor>(1 + i % 3));
    std::vector<cf::Future<int>> fs;
    for (int k = 0; k < 6; ++k) fs.push_back((*holder)->submit([k] { return k; }));
    // The task waits until submit() has returned: destroying an object while one of its member
    // functions runs in another thread would be the test's own bug.
    std::atomic<bool> submitted{false};
    cf::Future<void> last = (*holder)->submit([holder, &submitted] {
      submitted.wait(false);
      holder->reset();
    });
    submitted = true;
    submitted.notify_one();
    for (int k = 0; k < 6; ++k) ASSERT_EQ(fs[static_cast<std::size_t>(k)].result(), k);
    last.result();
    holder.reset();
  }
}

class Report : public testing::Environment {
 public:
  void TearDown() override {
    std::printf("[races] %ld lined-up repetitions in all (sanitizer=%s)\n", repetitions_run.load(),
                cfstress::kSanitizer);
  }
};
const auto* const kReport = testing::AddGlobalTestEnvironment(new Report);

}  // namespace
