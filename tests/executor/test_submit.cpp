// Executor::submit: returns at once with a Future of the call's result type, forwards the
// callable and the arguments (decay-copied, invoked as rvalues: move-only ones work; member
// function pointers with an object; std::ref for references), and stores the call's exception
// in the future (API.md "Executors" submit; CPython's test_submit, test_submit_keyword
// adapted to perfect forwarding).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "executor_helpers.hpp"

namespace {

using namespace extest;  // NOLINT(google-build-using-namespace): the tests' vocabulary

int power(int base, int exponent) { return static_cast<int>(std::pow(base, exponent)); }

TEST(ExecutorSubmit, Submit) {  // CPython's test_submit: submit(pow, 2, 8) == 256
  cf::ThreadPoolExecutor pool(2);
  cf::Future<int> f = pool.submit(power, 2, 8);
  EXPECT_EQ(f.result(), 256);
  EXPECT_EQ(pool.submit(&power, 3, 3).result(), 27);
}

TEST(ExecutorSubmit, ResultTypeIsTheCallsResultType) {
  cf::ThreadPoolExecutor pool(1);
  static_assert(std::is_same_v<decltype(pool.submit([] {})), cf::Future<void>>);
  static_assert(std::is_same_v<decltype(pool.submit([] { return std::string(); })), cf::Future<std::string>>);
  static_assert(std::is_same_v<decltype(pool.submit(power, 1, 2)), cf::Future<int>>);
  static_assert(std::is_same_v<decltype(pool.submit([](int x) { return x * 0.5; }, 1)), cf::Future<double>>);
  auto v = pool.submit([] {});
  v.result();
  EXPECT_TRUE(v.done());
  EXPECT_EQ(pool.submit([] { return std::string("text"); }).result(), "text");
}

TEST(ExecutorSubmit, MoveOnlyArgumentsAndResults) {  // API.md: "move-only ones work"
  cf::ThreadPoolExecutor pool(1);
  auto f = pool.submit(
      [](std::unique_ptr<int> p, std::unique_ptr<std::string> s) { return *p + static_cast<int>(s->size()); },
      std::make_unique<int>(40), std::make_unique<std::string>("ab"));
  EXPECT_EQ(f.result(), 42);
  auto g = pool.submit([](std::unique_ptr<int> p) { return p; }, std::make_unique<int>(7));
  ASSERT_NE(g.result(), nullptr);
  EXPECT_EQ(*g.result(), 7);
}

TEST(ExecutorSubmit, CallableObjects) {
  struct Adder {
    int base;
    int operator()(int x) && { return base + x; }  // invoked as an rvalue
  };
  struct MoveOnlyCallable {
    std::unique_ptr<int> value;
    int operator()() { return *value; }
  };
  cf::ThreadPoolExecutor pool(1);
  EXPECT_EQ(pool.submit(Adder{40}, 2).result(), 42);
  EXPECT_EQ(pool.submit(MoveOnlyCallable{std::make_unique<int>(5)}).result(), 5);
  std::function<int(int)> fn = [](int x) { return -x; };
  EXPECT_EQ(pool.submit(fn, 3).result(), -3);
  EXPECT_EQ(pool.submit(std::plus<>{}, 2, 3).result(), 5);
}

TEST(ExecutorSubmit, MemberFunctionPointersWithObject) {  // std::invoke semantics
  struct Account {
    int balance = 10;
    int deposit(int amount) { return balance += amount; }
    int read() const { return balance; }
  };
  cf::ThreadPoolExecutor pool(1);
  Account account;
  EXPECT_EQ(pool.submit(&Account::deposit, &account, 5).result(), 15) << "through a pointer";
  EXPECT_EQ(pool.submit(&Account::deposit, std::ref(account), 5).result(), 20) << "through std::ref";
  EXPECT_EQ(account.balance, 20);
  EXPECT_EQ(pool.submit(&Account::deposit, account, 100).result(), 120) << "on a copy";
  EXPECT_EQ(account.balance, 20) << "the copy was changed, not the original";
  EXPECT_EQ(pool.submit(&Account::read, std::make_shared<Account>()).result(), 10) << "through a smart pointer";
}

TEST(ExecutorSubmit, ArgumentsAreDecayCopiedAndReferencesNeedStdRef) {  // as std::thread
  cf::ThreadPoolExecutor pool(1);
  int value = 1;
  pool.submit([](int& v) { v = 2; }, std::ref(value)).result();
  EXPECT_EQ(value, 2);
  pool.submit([](int v) { return v; }, value).result();
  std::string text = "keep";
  pool.submit(
          [](std::string s) {
            s += "!";
            return s;
          },
          text)
      .result();
  EXPECT_EQ(text, "keep") << "an lvalue argument is copied, not moved from";
  std::string moved = "gone";
  EXPECT_EQ(pool.submit([](const std::string& s) { return s; }, std::move(moved)).result(), "gone");
}

TEST(ExecutorSubmit, ExceptionsAreStoredInTheFuture) {  // API.md: "exceptions thrown by fn are stored in the future"
  cf::ThreadPoolExecutor pool(1);
  auto f = pool.submit([]() -> int { throw std::out_of_range("bad index"); });
  EXPECT_THROW(f.result(), std::out_of_range);
  EXPECT_EQ(cftest::what_of(f.exception()), "bad index");
  auto g = pool.submit([] { throw 42; });
  EXPECT_THROW(g.result(), int);
  // A cf::TimeoutError thrown by the call is the call's result, not a timeout of result().
  auto h = pool.submit([] { throw cf::TimeoutError("from the task"); });
  try {
    h.result(1h);
    FAIL();
  } catch (const cf::TimeoutError& e) {
    EXPECT_STREQ(e.what(), "from the task");
  }
  EXPECT_EQ(pool.submit([] { return 1; }).result(), 1) << "the worker survived";
}

TEST(ExecutorSubmit, ReturnsAtOnce) {  // API.md: "returns at once"
  cf::ThreadPoolExecutor pool(1);
  cftest::Gate gate;
  auto blocked = pool.submit(gate.waiter());
  auto queued = pool.submit([] { return 1; });
  EXPECT_FALSE(blocked.done());
  EXPECT_FALSE(queued.done());
  EXPECT_FALSE(queued.running());
  gate.open();
  EXPECT_EQ(queued.result(), 1);
}

}  // namespace
