// Coroutine lifetime (coroutine.hpp, "Lifetime"): the awaited future's other handles dropped
// while the coroutine is suspended, a frame destroyed while suspended on co_await, and a
// cf::Future coroutine destroyed before it completes. ASan checks that nothing touches a dead
// frame or a dead state.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cfutures/coroutine.hpp>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <thread>

#include "compose_fixtures.hpp"
#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using testing::HasSubstr;

cf::Future<int> await_reference(const cf::Future<int>& f) { co_return co_await f; }

TEST(CoroutineLifetime, TheAwaitedFutureOutlivesItsOtherHandles) {
  cf::Future<int> f;
  std::optional<cf::Future<int>> caller_handle = f;
  auto g = await_reference(*caller_handle);  // the frame keeps only a reference to it
  std::thread dropper([&] {
    caller_handle.reset();
    f.set_result(5);
    f = cf::Future<int>();  // the last handle outside the coroutine
  });
  dropper.join();
  EXPECT_EQ(g.result(), 5);
}

template <class Wait>
int nine_after(Wait wait) {
  wait();
  return 9;
}

cf::Future<int> await_temporary(cf::ThreadPoolExecutor& pool, const cftest::Gate& gate) {
  // (Not a lambda with captures inside the co_await: GCC 12 destroys its captures twice.)
  using Wait = decltype(gate.waiter());
  co_return co_await pool.submit(nine_after<Wait>, gate.waiter());
}

TEST(CoroutineLifetime, AnAwaitedTemporaryIsKeptByTheAwaiter) {
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto g = await_temporary(pool, gate);  // nobody but the awaiter holds the task's future
  gate.open();
  EXPECT_EQ(g.result(std::chrono::seconds(30)), 9);
}

// A minimal lazy coroutine type whose owner destroys the frame (as a generator or a task type
// of another library would).
struct Owned {
  struct promise_type {
    Owned get_return_object() { return Owned{std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  explicit Owned(std::coroutine_handle<promise_type> h) : handle(h) {}
  Owned(Owned&& other) noexcept : handle(std::exchange(other.handle, nullptr)) {}
  ~Owned() {
    if (handle) handle.destroy();
  }
  std::coroutine_handle<promise_type> handle;
};

Owned await_in_owned(cf::Future<int> f, bool* resumed, std::shared_ptr<int> token) {
  co_await f;
  *resumed = true;
  (void)token;
}

TEST(CoroutineLifetime, AFrameDestroyedWhileSuspendedIsNeverResumed) {
  cf::Future<int> f;
  bool resumed = false;
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  {
    Owned owned = await_in_owned(f, &resumed, std::move(token));
    EXPECT_FALSE(owned.handle.done());
    EXPECT_GT(cftest::use_count(f), 1u) << "the suspended frame holds the future";
  }  // destroys the suspended frame
  EXPECT_TRUE(watch.expired()) << "the frame is gone";
  EXPECT_EQ(cftest::use_count(f), 1u) << "the awaiter let go of the future and unlinked from it";
  f.set_result(1);
  EXPECT_FALSE(resumed);
}

// Hands the coroutine's handle to the test instead of resuming it.
struct Grab {
  std::coroutine_handle<>* out;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept { *out = h; }
  void await_resume() const noexcept {}
};

cf::Future<int> suspends_for_good(std::coroutine_handle<>* out, std::shared_ptr<int> token) {
  co_await Grab{out};
  co_return *token;
}

TEST(CoroutineLifetime, AFutureCoroutineDestroyedBeforeItEndsFailsItsFuture) {
  std::coroutine_handle<> handle;
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  auto f = suspends_for_good(&handle, std::move(token));
  ASSERT_TRUE(handle);
  EXPECT_FALSE(f.done());
  handle.destroy();
  EXPECT_TRUE(watch.expired());
  ASSERT_TRUE(f.done());
  try {
    f.result();
    FAIL() << "expected CancelledError";
  } catch (const cf::CancelledError& e) {
    EXPECT_THAT(e.what(), HasSubstr("destroyed before it completed"));
  }
}

cf::Future<int> twice(cf::Future<int> f) { co_return 2 * co_await f; }

TEST(CoroutineLifetime, ASuspendedCoroutineWhoseFutureNobodyHoldsStillCompletes) {
  cf::Future<int> f;
  {
    auto g = twice(f);  // the coroutine's own future is dropped at once
  }
  f.set_result(1);  // resumes and ends the coroutine; nothing leaks (ASan's leak check)
  EXPECT_EQ(cftest::use_count(f), 1u);
}

}  // namespace
