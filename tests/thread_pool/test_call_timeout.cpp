// CallOptions::timeout on the thread pool (API.md "Per-call options"): at the deadline, counted
// from the moment the call starts, its future fails with TimeoutError and its stop token (if it
// takes one) is asked to stop; the thread is not killed and a late result is dropped.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

void wait_for_stop(const std::stop_token& token) {
  std::mutex mutex;
  std::condition_variable_any stopped;
  std::unique_lock lock(mutex);
  stopped.wait(lock, token, [] { return false; });
}

std::string timeout_message(cf::Future<int>& f) {
  try {
    f.result();
  } catch (const cf::TimeoutError& e) {
    return e.what();
  }
  return "no TimeoutError";
}

TEST(ThreadPoolCallTimeout, ACallPastItsTimeoutFailsAndIsAskedToStop) {
  cf::ThreadPoolExecutor pool(1);
  std::atomic<bool> saw_stop{false};
  auto f = pool.submit(cf::CallOptions{.timeout = 100ms}, [&saw_stop](std::stop_token token) {
    wait_for_stop(token);
    saw_stop = true;
    return 1;
  });
  const std::string message = timeout_message(f);
  EXPECT_NE(message.find("timeout of 100 ms"), std::string::npos) << message;
  EXPECT_NE(message.find("asked to stop"), std::string::npos) << message;
  pool.shutdown();  // returns: the call saw the stop request
  EXPECT_TRUE(saw_stop);
  EXPECT_THROW(f.result(), cf::TimeoutError);  // its late result was dropped
}

TEST(ThreadPoolCallTimeout, ACallWithoutATokenFailsAtTheDeadlineAndRunsOn) {
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  std::atomic<bool> finished{false};
  auto f = pool.submit(cf::CallOptions{.timeout = 50ms}, [&finished, w = gate.waiter()] {
    w();
    finished = true;
    return 2;
  });
  const std::string message = timeout_message(f);
  EXPECT_NE(message.find("runs on in its thread"), std::string::npos) << message;
  EXPECT_FALSE(finished);
  gate.open();
  pool.shutdown();
  EXPECT_TRUE(finished);
  EXPECT_THROW(f.result(), cf::TimeoutError);
}

TEST(ThreadPoolCallTimeout, ACallWithinItsTimeoutKeepsItsResult) {
  cf::ThreadPoolExecutor pool(2);
  auto f = pool.submit(
      cf::CallOptions{.timeout = 60s}, [](int x) { return x + 1; }, 1);
  EXPECT_EQ(f.result(), 2);
}

TEST(ThreadPoolCallTimeout, ManyCallsInTimeNeitherWaitForTheirDeadlinesNorLeak) {
  std::vector<cf::Future<int>> fs;
  const auto start = std::chrono::steady_clock::now();
  {
    cf::ThreadPoolExecutor pool(2);
    for (int i = 0; i < 1000; ++i) fs.push_back(pool.submit(cf::CallOptions{.timeout = 3600s}, [i] { return i; }));
  }  // the pool's destructor does not wait an hour
  EXPECT_LT(std::chrono::steady_clock::now() - start, 60s);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(0s), i);
}

TEST(ThreadPoolCallTimeout, TheTimeoutCountsFromTheStartNotFromSubmit) {
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto blocker = pool.submit(gate.waiter());
  auto f = pool.submit(cf::CallOptions{.timeout = 30s}, [] { return 3; });
  auto short_one = pool.submit(cf::CallOptions{.timeout = 100ms}, [] { return 4; });
  std::this_thread::sleep_for(400ms);  // time is the subject: queued 4x longer than its timeout
  EXPECT_FALSE(short_one.done());
  gate.open();
  EXPECT_EQ(f.result(), 3);
  EXPECT_EQ(short_one.result(), 4);
}

TEST(ThreadPoolCallTimeout, DeadlinesExpireEachInTurn) {
  cf::ThreadPoolExecutor pool(3);
  auto stoppable = [](std::stop_token token) {
    wait_for_stop(token);
    return 0;
  };
  auto late = pool.submit(cf::CallOptions{.timeout = 300ms}, stoppable);
  auto early = pool.submit(cf::CallOptions{.timeout = 50ms}, stoppable);
  auto never = pool.submit(cf::CallOptions{.timeout = 3600s}, [] { return 5; });
  EXPECT_THROW(early.result(), cf::TimeoutError);
  EXPECT_THROW(late.result(), cf::TimeoutError);
  EXPECT_EQ(never.result(), 5);
}

TEST(ThreadPoolCallTimeout, ADoneCallbackOfATimedOutCallRunsOnce) {
  cf::ThreadPoolExecutor pool(1);
  std::atomic<int> calls{0};
  cftest::Counter done;
  auto f = pool.submit(cf::CallOptions{.timeout = 50ms}, [](std::stop_token token) {
    wait_for_stop(token);
    return 0;
  });
  f.add_done_callback([&](const cf::Future<int>& g) {
    if (g.exception() != nullptr) calls.fetch_add(1);
    done.add();
  });
  done.wait_for(1);
  pool.shutdown();
  EXPECT_EQ(calls.load(), 1);
}

TEST(ThreadPoolCallTimeout, MapCallTimeoutFailsOnlyTheSlowPositions) {
  cf::ThreadPoolExecutor pool(3);
  auto fn = [](std::stop_token token, int x) {
    if (x == 1) wait_for_stop(token);
    return x;
  };
  auto results = pool.map(fn, std::vector<int>{0, 1, 2}, cf::MapOptions{.call_timeout = 100ms});
  auto it = results.begin();
  EXPECT_EQ(*it, 0);
  ++it;
  EXPECT_THROW(static_cast<void>(*it), cf::TimeoutError);
}

TEST(ThreadPoolCallTimeout, WithChunksTheTimeoutFailsEveryPositionOfTheSlowChunk) {
  cf::ThreadPoolExecutor pool(2);
  auto fn = [](std::stop_token token, int x) {
    if (x == 4) wait_for_stop(token);
    return x;
  };
  auto results =
      pool.map(fn, std::vector<int>{0, 1, 2, 3, 4, 5}, cf::MapOptions{.chunksize = 3, .call_timeout = 100ms});
  int failed = 0;
  int values = 0;
  int position = 0;
  for (auto it = results.begin(); it != results.end(); ++it, ++position) {
    try {
      EXPECT_EQ(*it, position);
      ++values;
    } catch (const cf::TimeoutError&) {
      EXPECT_GE(position, 3);
      ++failed;
    }
  }
  EXPECT_EQ(values, 3);
  EXPECT_EQ(failed, 3);
}

TEST(ThreadPoolCallTimeout, ATimeoutThatIsNotPositiveIsRejected) {
  cf::ThreadPoolExecutor pool(1);
  auto fn = [] { return 0; };
  for (auto bad : {0ns, -1ns}) {
    try {
      pool.submit(cf::CallOptions{.timeout = bad}, fn);
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("timeout"), std::string::npos) << e.what();
    }
    EXPECT_THROW(pool.map([](int x) { return x; }, std::vector<int>{1}, cf::MapOptions{.call_timeout = bad}),
                 std::invalid_argument);
  }
}

}  // namespace
