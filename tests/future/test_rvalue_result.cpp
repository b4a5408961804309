// result() of an rvalue handle returns the value (API.md "cf::Future<T>" result() &&): the
// temporary of `pool.submit(load).result()` never dangles, a move-only result can be moved
// out of the last handle, and nothing another handle still refers to is stolen. And the
// TimeoutError of result(timeout)/exception(timeout) says what timed out, after how long.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;
using ::testing::MatchesRegex;

static_assert(std::is_same_v<decltype(std::declval<cf::Future<int>&>().result()), const int&>);
static_assert(std::is_same_v<decltype(std::declval<const cf::Future<int>&>().result(1s)), const int&>);
static_assert(std::is_same_v<decltype(std::declval<cf::Future<int>>().result()), int>);
static_assert(std::is_same_v<decltype(std::declval<cf::Future<int>>().result(1s)), int>);
static_assert(std::is_void_v<decltype(std::declval<cf::Future<void>>().result())>);

cf::Future<std::string> finished_with(std::string value) {
  cf::Future<std::string> f;
  f.set_result(std::move(value));
  return f;
}

// Counts the copies of a result.
struct Tracked {
  static inline std::atomic<int> copies{0};
  std::string text;
  explicit Tracked(std::string t) : text(std::move(t)) {}
  Tracked(const Tracked& other) : text(other.text) { copies.fetch_add(1); }
  Tracked(Tracked&&) noexcept = default;
  Tracked& operator=(const Tracked&) = delete;
  Tracked& operator=(Tracked&&) = delete;
};

TEST(FutureRvalueResult, ReferenceToATemporarysResultStaysValid) {  // a first user's report (ASan: heap-use-after-free)
  // The temporary is the future's only handle: with a reference into its state, the state
  // would be freed at the end of the line.
  const auto& text = finished_with(std::string(1000, 'x')).result();
  EXPECT_EQ(text, std::string(1000, 'x'));

  cf::ThreadPoolExecutor pool(2);
  for (int i = 0; i < 200; ++i) {
    const auto& data = pool.submit([i] { return std::vector<int>(100, i); }).result();
    ASSERT_EQ(data, std::vector<int>(100, i));
    const auto& timed = pool.submit([i] { return std::to_string(i); }).result(10s);
    ASSERT_EQ(timed, std::to_string(i));
  }
}

TEST(FutureRvalueResult, MoveOnlyResultComesOutOfATemporary) {  // a first user's report: unique_ptr results
  cf::ThreadPoolExecutor pool(2);
  // Many times: the pool's worker still holds the task for a moment after completing it.
  for (int i = 0; i < 2000; ++i) {
    std::unique_ptr<int> p = pool.submit([i] { return std::make_unique<int>(i); }).result();
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(*p, i);
  }
  std::unique_ptr<int> timed = pool.submit([] { return std::make_unique<int>(5); }).result(10s);
  EXPECT_EQ(*timed, 5);
}

TEST(FutureRvalueResult, LastHandleMovesTheValueOutAndIsLeftEmpty) {
  cf::Future<Tracked> f;
  f.set_result(Tracked("value"));
  Tracked::copies = 0;
  Tracked out = std::move(f).result();
  EXPECT_EQ(out.text, "value");
  EXPECT_EQ(Tracked::copies.load(), 0) << "the last handle's value is moved, not copied";
  EXPECT_THROW((void)f.done(), std::logic_error)
      << "the handle is empty once its value is out";  // NOLINT(bugprone-use-after-move)
}

TEST(FutureRvalueResult, AnotherHandleKeepsItsValueAndTheResultIsACopy) {
  cf::Future<Tracked> f;
  cf::Future<Tracked> other = f;
  f.set_result(Tracked("shared"));
  const Tracked& seen = other.result();
  Tracked::copies = 0;
  Tracked out = std::move(f).result();
  EXPECT_EQ(out.text, "shared");
  EXPECT_EQ(Tracked::copies.load(), 1);
  EXPECT_EQ(seen.text, "shared") << "another handle's value was stolen";
  EXPECT_EQ(&seen, &other.result());
}

TEST(FutureRvalueResult, MoveOnlyResultWithAnotherHandleThrowsAndStealsNothing) {
  cf::Future<std::unique_ptr<int>> f;
  auto other = std::make_unique<cf::Future<std::unique_ptr<int>>>(f);
  f.set_result(std::make_unique<int>(3));
  const std::unique_ptr<int>& seen = other->result();
  try {
    (void)std::move(f).result();
    FAIL() << "no InvalidStateError";
  } catch (const cf::InvalidStateError& e) {
    EXPECT_THAT(e.what(), MatchesRegex(".*another handle still refers to <Future at 0x[0-9a-f]+ state=finished.*"));
  }
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(*seen, 3);
  EXPECT_EQ(*f.result(), 3) << "a failed move leaves the handle as it was";  // NOLINT(bugprone-use-after-move)
  other.reset();
  std::unique_ptr<int> out = std::move(f).result();  // now the last handle
  EXPECT_EQ(*out, 3);
}

TEST(FutureRvalueResult, AFailedOrTimedOutCallLeavesTheHandleUsable) {
  cf::Future<int> failed;
  failed.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
  EXPECT_THROW((void)std::move(failed).result(), std::runtime_error);
  EXPECT_TRUE(failed.done());  // NOLINT(bugprone-use-after-move)

  cf::Future<int> cancelled;
  cancelled.cancel();
  EXPECT_THROW((void)std::move(cancelled).result(), cf::CancelledError);
  EXPECT_TRUE(cancelled.cancelled());  // NOLINT(bugprone-use-after-move)

  cf::Future<int> pending;
  EXPECT_THROW((void)std::move(pending).result(10ms), cf::TimeoutError);
  pending.set_result(4);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(std::move(pending).result(0s), 4);

  cf::Future<void> done;
  done.set_result();
  std::move(done).result();
  EXPECT_THROW((void)done.done(), std::logic_error);  // NOLINT(bugprone-use-after-move)
}

TEST(FutureRvalueResult, MovingOutNeverRacesAReaderOfAnotherHandle) {  // for ThreadSanitizer
  const std::string text(200, 'r');
  for (int i = 0; i < 300; ++i) {
    cf::Future<std::string> f;
    f.set_result(text);
    std::thread reader([copy = f, &text]() mutable {
      EXPECT_EQ(copy.result(), text);
      copy = cf::Future<std::string>();  // lets go of the state after reading
    });
    const std::string out = std::move(f).result();  // moved or copied, whichever way the race goes
    EXPECT_EQ(out, text);
    reader.join();
  }
}

TEST(FutureTimeoutMessage,
     SaysWhatTimedOutAfterHowLongAndTheState) {  // a first user's report: "timed out" said nothing
  cf::Future<int> f;
  try {
    (void)f.result(20ms);
    FAIL() << "no TimeoutError";
  } catch (const cf::TimeoutError& e) {
    EXPECT_THAT(e.what(),
                MatchesRegex("result\\(\\) timed out after 20 ms waiting for <Future at 0x[0-9a-f]+ state=pending>"));
  }
  f.set_running_or_notify_cancel();
  try {
    (void)f.exception(std::chrono::duration<double>(0.0125));
    FAIL() << "no TimeoutError";
  } catch (const cf::TimeoutError& e) {
    EXPECT_THAT(
        e.what(),
        MatchesRegex("exception\\(\\) timed out after 12.5 ms waiting for <Future at 0x[0-9a-f]+ state=running>"));
  }
  try {
    (void)cf::AnyFuture(f).exception(0s);
    FAIL() << "no TimeoutError";
  } catch (const cf::TimeoutError& e) {
    EXPECT_THAT(e.what(),
                MatchesRegex("exception\\(\\) timed out after 0 s waiting for <Future at 0x[0-9a-f]+ state=running>"));
  }
  try {
    (void)std::move(f).result(std::chrono::microseconds(1500));
    FAIL() << "no TimeoutError";
  } catch (const cf::TimeoutError& e) {
    EXPECT_THAT(e.what(),
                MatchesRegex("result\\(\\) timed out after 1.5 ms waiting for <Future at 0x[0-9a-f]+ state=running>"));
  }
  cf::Future<void> v;
  try {
    v.result(std::chrono::duration<double>(1.5));
    FAIL() << "no TimeoutError";
  } catch (const cf::TimeoutError& e) {
    EXPECT_THAT(e.what(),
                MatchesRegex("result\\(\\) timed out after 1.5 s waiting for <Future at 0x[0-9a-f]+ state=pending>"));
  }
  try {
    v.result(40us);
    FAIL() << "no TimeoutError";
  } catch (const cf::TimeoutError& e) {
    EXPECT_THAT(e.what(), MatchesRegex("result\\(\\) timed out after 40 us waiting for .*"));
  }
}

}  // namespace
