// cf::as_completed yields each distinct future once: those done at the call first (in input
// order), then each as it completes; cancelled futures are yielded (API.md "Waiting" and
// decision 1; CPython test_as_completed.py test_no_timeout, test_duplicate_futures,
// completion order). A map whose keys are futures yields its keys.
#include <gtest/gtest.h>

#include <barrier>
#include <list>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "as_completed_helpers.hpp"

namespace {

using namespace actest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

TEST(AsCompletedOrder, NoTimeout) {  // CPython's test_no_timeout
  cf::ThreadPoolExecutor pool(2);
  auto success = make_future(FState::Finished);
  auto failed = make_future(FState::Failed);
  auto cn = make_future(FState::CancelledNotified);
  auto f1 = pool.submit([] { return 1; });
  auto f2 = pool.submit([] { return 2; });
  Futures input{success, failed, cn, f1, f2};
  auto yielded = drain(cf::as_completed(input));
  EXPECT_EQ(std::unordered_set<cf::Future<int>>(yielded.begin(), yielded.end()),
            std::unordered_set<cf::Future<int>>(input.begin(), input.end()));
  EXPECT_EQ(yielded.size(), input.size());
  for (auto& f : yielded) EXPECT_TRUE(f.done());
}

TEST(AsCompletedOrder,
     AlreadyDoneFirstInInputOrderThenCompletionOrder) {  // CPython's tests [verified: pre, 0.1, 0.2, 0.3]
  Futures pending(5);
  auto done_a = make_future(FState::Finished);
  auto done_b = make_future(FState::Cancelled);
  auto done_c = make_future(FState::Failed);
  Futures input{pending[0], done_b, pending[1], pending[2], done_a, pending[3], done_c, pending[4]};
  auto ac = cf::as_completed(input);
  // Complete after the call, in an order unlike the input's.
  for (int i : {3, 1, 4, 0, 2}) pending[static_cast<std::size_t>(i)].set_result(i);
  auto yielded = drain(ac);
  EXPECT_EQ(yielded, (Futures{done_b, done_a, done_c, pending[3], pending[1], pending[4], pending[0], pending[2]}));
}

TEST(AsCompletedOrder, YieldsWhileOthersStillRun) {  // lazy: each future as soon as it completes
  Futures fs(3);
  auto ac = cf::as_completed(fs);
  auto it = ac.begin();
  fs[2].set_result(2);
  EXPECT_EQ(*it, fs[2]);
  EXPECT_EQ(*it, fs[2]) << "reading twice without advancing yields the same future";
  ++it;
  std::barrier start(2);
  std::thread completer([&] {
    start.arrive_and_wait();
    fs[0].set_result(0);
  });
  start.arrive_and_wait();
  EXPECT_EQ(*it, fs[0]) << "waits for the next completion in another thread";
  completer.join();
  ++it;
  EXPECT_FALSE(it == ac.end());
  fs[1].set_result(1);
  EXPECT_EQ(*it, fs[1]);
  ++it;
  EXPECT_TRUE(it == ac.end());
  EXPECT_THROW((void)*it, std::out_of_range) << "reading past the end";
}

TEST(AsCompletedOrder, DuplicateFuturesYieldedOnce) {  // CPython's test_duplicate_futures
  auto f = make_future(FState::Finished);
  EXPECT_EQ(drain(cf::as_completed(Futures{f, f, f})), (Futures{f}));
  cf::Future<int> pending;
  auto ac = cf::as_completed(Futures{pending, f, pending, pending});
  pending.set_result(1);
  EXPECT_EQ(drain(ac), (Futures{f, pending}));
}

TEST(AsCompletedOrder, EmptyInputIsAnEmptyRange) {  // CPython: "Empty fs -> empty iterator"
  auto ac = cf::as_completed(Futures{});
  EXPECT_TRUE(ac.begin() == ac.end());
  auto timed = cf::as_completed(Futures{}, 0s);
  EXPECT_TRUE(drain(timed).empty()) << "timeout 0 with nothing to wait for does not throw";
}

TEST(AsCompletedOrder, CancelledFuturesAreYielded) {  // decision 1 (CPython never yields CANCELLED: gh-87893)
  auto pre_cancelled = make_future(FState::Cancelled);
  cf::Future<int> later;
  auto ac = cf::as_completed(Futures{later, pre_cancelled});
  auto it = ac.begin();
  EXPECT_EQ(*it, pre_cancelled);
  ++it;
  std::barrier start(2);
  std::thread canceller([&] {
    start.arrive_and_wait();
    EXPECT_TRUE(later.cancel());
  });
  start.arrive_and_wait();
  EXPECT_EQ(*it, later) << "a cancel() wakes the iteration";
  canceller.join();
  EXPECT_TRUE((*it).cancelled());
}

TEST(AsCompletedOrder, FuturesCancelledByShutdownAreYielded) {  // decision 1, gh-109934
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto blocker = cftest::occupy_workers(pool, gate).front();
  Futures queued;
  for (int i = 0; i < 4; ++i) queued.push_back(pool.submit([i] { return i; }));
  auto ac = cf::as_completed(queued, 30s);
  pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  auto yielded = drain(ac);
  EXPECT_EQ(yielded.size(), queued.size());
  for (auto& f : yielded) EXPECT_TRUE(f.cancelled());
  gate.open();
  EXPECT_NO_THROW(blocker.result());
}

TEST(AsCompletedOrder, BracedListAnyFutureAndOtherRanges) {  // API.md: any range, or a braced list
  auto a = make_future(FState::Finished);
  auto b = make_future(FState::Failed);
  EXPECT_EQ(drain(cf::as_completed({b, a, b})), (Futures{b, a}));
  auto braced_timed = cf::as_completed({a}, 1s);
  EXPECT_EQ(drain(braced_timed), (Futures{a}));

  cf::Future<void> v;
  std::vector<cf::AnyFuture> mixed{v, a};
  auto erased = cf::as_completed(mixed);
  v.set_result();
  EXPECT_EQ(drain(erased), (std::vector<cf::AnyFuture>{a, v}));

  std::list<cf::Future<int>> list{b, a};
  auto from_list = cf::as_completed(list);
  EXPECT_EQ(drain(from_list), (Futures{b, a}));
}

TEST(AsCompletedOrder, MapsYieldTheirKeys) {  // a first user's report: Python's as_completed(future_to_url) idiom
  cf::ThreadPoolExecutor pool(2);
  std::unordered_map<cf::Future<int>, std::string> future_to_url;
  for (int i = 0; i < 5; ++i) future_to_url.emplace(pool.submit([i] { return i * 10; }), "url" + std::to_string(i));
  auto ac = cf::as_completed(future_to_url, 30s);
  static_assert(std::is_same_v<decltype(ac), cf::AsCompleted<cf::Future<int>>>);
  EXPECT_EQ(ac.size(), 5u);
  std::unordered_set<std::string> urls;
  for (cf::Future<int> future : ac) {
    const std::string& url = future_to_url.at(future);
    EXPECT_EQ(future.result(), std::stoi(url.substr(3)) * 10);
    urls.insert(url);
  }
  EXPECT_EQ(urls.size(), 5u);

  auto a = make_future(FState::Finished);
  std::map<cf::Future<int>, int, bool (*)(const cf::Future<int>&, const cf::Future<int>&)> ordered(
      [](const cf::Future<int>& x, const cf::Future<int>& y) {
        return std::hash<cf::Future<int>>{}(x) < std::hash<cf::Future<int>>{}(y);
      });
  ordered.emplace(a, 1);
  EXPECT_EQ(drain(cf::as_completed(ordered)), (Futures{a}));
}

TEST(AsCompletedOrder, SizeCountsTheDistinctFutures) {  // what cf::progress shows as the total
  auto a = make_future(FState::Finished);
  cf::Future<int> pending;
  auto ac = cf::as_completed(Futures{a, pending, a});
  EXPECT_EQ(ac.size(), 2u);
  auto it = ac.begin();
  (void)*it;
  ++it;
  EXPECT_EQ(ac.size(), 2u) << "size() is the total, not what is left";
  pending.set_result(1);
}

TEST(AsCompletedOrder, EmptyHandleInTheInputThrowsLogicError) {
  cf::Future<int> f;
  cf::Future<int> moved = std::move(f);
  EXPECT_THROW((void)cf::as_completed(Futures{moved, f}), std::logic_error);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
