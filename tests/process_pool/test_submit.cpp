// cf::ProcessPoolExecutor::submit: results, what crosses, exceptions coming back
// (API.md "cf::ProcessPoolExecutor"; CPython test_process_pool.py and
// executor.py test_submit).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cereal/types/string.hpp>
#include <cfutures/cfutures.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <variant>
#include <vector>

#include "core_fixtures.hpp"
#include "tasks.hpp"

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

namespace {

struct Point {
  double x = 0;
  double y = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(x, y);
  }
  friend bool operator==(const Point&, const Point&) = default;
};

Point midpoint(Point a, const Point& b) { return {(a.x + b.x) / 2, (a.y + b.y) / 2}; }

struct QuotaExceeded : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Unregistered : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A value whose destructor, in the worker, leaves a mark on disk (as CPython tests it).
struct Probe {
  std::string path;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(path);
  }
  ~Probe() {
    if (!path.empty()) std::ofstream(path + "." + std::to_string(getpid())) << "gone";
  }
};
pid_t use_probe(const Probe&) { return getpid(); }

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string(name) + "." + std::to_string(getpid()))).string();
}

}  // namespace

TEST(ProcessPoolSubmit, ReturnsResult) {  // CPython test_submit: pow(2, 8)
  cf::ProcessPoolExecutor pool(2);
  EXPECT_EQ(pool.submit(pp::power, 2L, 8).result(), 256);
  EXPECT_EQ(pool.submit(pp::square, 7).result(), 49);
}

TEST(ProcessPoolSubmit, RunsInAnotherProcess) {
  cf::ProcessPoolExecutor pool(1);
  const pid_t pid = pool.submit(pp::worker_pid).result();
  EXPECT_NE(pid, getpid());
  EXPECT_GT(pid, 0);
}

TEST(ProcessPoolSubmit, CallableKinds) {
  cf::ProcessPoolExecutor pool(2);
  EXPECT_EQ(pool.submit(&pp::add, 2, 3).result(), 5);                              // function pointer
  EXPECT_EQ(pool.submit(pp::add, 2, 3).result(), 5);                               // function reference
  EXPECT_EQ(pool.submit([](int a) { return a * 10; }, 4).result(), 40);            // capture-less lambda
  EXPECT_EQ(pool.submit(std::plus<>{}, 20, 22).result(), 42);                      // empty function object
  EXPECT_EQ(pool.submit([](auto a, auto b) { return a - b; }, 9, 4).result(), 5);  // generic lambda
  EXPECT_EQ(pool.submit([]() mutable { return 1; }).result(), 1);                  // mutable lambda
}

TEST(ProcessPoolSubmit, ArgumentsConvertToParameterTypes) {
  cf::ProcessPoolExecutor pool(1);
  // A string literal crosses as the std::string the function takes.
  EXPECT_EQ(pool.submit([](std::string s) { return s + "!"; }, "hello").result(), "hello!");
  EXPECT_EQ(pool.submit([](const std::string& s) { return s.size(); }, "four").result(), 4u);
  EXPECT_DOUBLE_EQ(pool.submit([](double d) { return d * 2; }, 21).result(), 42.0);
  // A function that modifies its (by-reference) argument works on the worker's copy.
  EXPECT_EQ(pool.submit([](int& x) { return ++x; }, 1).result(), 2);
}

TEST(ProcessPoolSubmit, StandardTypesCross) {
  cf::ProcessPoolExecutor pool(1);
  auto sum = pool.submit(
      [](std::vector<int> v, std::map<std::string, int> m) {
        int total = 0;
        for (int x : v) total += x;
        for (auto& [k, x] : m) total += x * static_cast<int>(k.size());
        return total;
      },
      std::vector<int>{1, 2, 3}, std::map<std::string, int>{{"ab", 10}});
  EXPECT_EQ(sum.result(), 26);

  auto wrap = pool.submit(
      [](std::optional<int> o, std::variant<int, std::string> v, std::tuple<int, char> t) {
        return std::make_tuple(o.value_or(-1), std::holds_alternative<std::string>(v), std::get<1>(t));
      },
      std::optional<int>{}, std::variant<int, std::string>{"x"}, std::make_tuple(1, 'c'));
  EXPECT_EQ(wrap.result(), std::make_tuple(-1, true, 'c'));

  auto owned = pool.submit([](int x) { return std::make_unique<int>(x); }, 5);  // move-only result
  EXPECT_EQ(*owned.result(), 5);
}

TEST(ProcessPoolSubmit, UserTypesWithSerialize) {
  cf::ProcessPoolExecutor pool(1);
  EXPECT_EQ(pool.submit(midpoint, Point{0, 0}, Point{2, 4}).result(), (Point{1, 2}));
  static_assert(cf::is_serializable_v<Point>);
  static_assert(!cf::is_serializable_v<int*>);
  static_assert(!cf::is_serializable_v<std::vector<std::thread>>);
}

TEST(ProcessPoolSubmit, VoidFunctions) {
  cf::ProcessPoolExecutor pool(1);
  cf::Future<void> f = pool.submit([](int) {}, 1);
  f.result();
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.exception(), nullptr);
}

TEST(ProcessPoolSubmit, BigPayloadsBothWays) {  // larger than the 256 KiB rings
  cf::ProcessPoolExecutor pool(2);
  std::vector<std::uint8_t> big(20 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
  auto echo = pool.submit(
      [](std::vector<std::uint8_t> v) {
        for (auto& b : v) b = static_cast<std::uint8_t>(b + 1);
        return v;
      },
      big);
  auto made = pool.submit([](std::size_t n) { return std::string(n, 'z'); }, std::size_t{3} << 20);
  const auto& back = echo.result();
  ASSERT_EQ(back.size(), big.size());
  for (std::size_t i = 0; i < big.size(); i += 4099) ASSERT_EQ(back[i], static_cast<std::uint8_t>(big[i] + 1)) << i;
  EXPECT_EQ(made.result(), std::string(std::size_t{3} << 20, 'z'));
}

TEST(ProcessPoolSubmit, ManyCallsInFlight) {
  cf::ProcessPoolExecutor pool(2);
  std::vector<cf::Future<int>> futures;
  for (int i = 0; i < 5000; ++i) futures.push_back(pool.submit(pp::square, i));
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(futures[i].result(), i * i);
}

TEST(ProcessPoolSubmit, StandardExceptionsKeepTheirType) {
  cf::ProcessPoolExecutor pool(1);
  EXPECT_THROW(pool.submit(pp::divide, 1, 0).result(), std::domain_error);
  try {
    pool.submit([] { throw std::out_of_range("index 7"); }).result();
    FAIL();
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "index 7");
  }
  EXPECT_THROW(pool.submit([] { throw std::bad_alloc(); }).result(), std::bad_alloc);
  EXPECT_THROW(pool.submit([] { return std::vector<int>().at(3); }).result(), std::out_of_range);
  EXPECT_THROW(pool.submit([] { throw cf::TimeoutError("late"); }).result(), cf::TimeoutError);
  try {
    pool.submit([] { throw std::system_error(ENOENT, std::generic_category(), "open config"); }).result();
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::error_code(ENOENT, std::generic_category()));
    EXPECT_EQ(std::string(e.what()), std::system_error(ENOENT, std::generic_category(), "open config").what());
  }
  try {
    pool.submit([] { throw std::future_error(std::future_errc::broken_promise); }).result();
    FAIL();
  } catch (const std::future_error& e) {
    EXPECT_EQ(e.code(), std::future_errc::broken_promise);
  }
}

TEST(ProcessPoolSubmit, RegisteredExceptionsKeepTheirType) {
  cf::register_exception<QuotaExceeded>();
  cf::register_exception<QuotaExceeded>();  // again: harmless
  cf::ProcessPoolExecutor pool(1);
  try {
    pool.submit([] { throw QuotaExceeded("over by 3"); }).result();
    FAIL();
  } catch (const QuotaExceeded& e) {
    EXPECT_STREQ(e.what(), "over by 3");
  }
}

TEST(ProcessPoolSubmit, OtherExceptionsArriveAsRemoteError) {  // CPython's tests, test_traceback
  cf::ProcessPoolExecutor pool(1);
  const pid_t worker = pool.submit(pp::worker_pid).result();
  try {
    pool.submit([] { throw Unregistered("123"); }).result();
    FAIL();
  } catch (const cf::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "(anonymous namespace)::Unregistered");
    EXPECT_STREQ(e.what(), "123");
    EXPECT_NE(e.remote_site().find("worker process " + std::to_string(worker)), std::string::npos) << e.remote_site();
  }
  try {
    pool.submit(+[]() -> int { throw 42; }).result();
    FAIL();
  } catch (const cf::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "int");
    EXPECT_NE(std::string(e.what()).find("not derived from std::exception"), std::string::npos);
  }
  try {
    pool.submit([] { throw std::string("plain"); }).result();
    FAIL();
  } catch (const cf::RemoteError& e) {
    EXPECT_STREQ(e.what(), "plain");
  }
  // RemoteError is a cf::Error, hence a std::runtime_error: generic handlers still see it.
  EXPECT_THROW(pool.submit([] { throw Unregistered("x"); }).result(), std::runtime_error);
  EXPECT_EQ(pool.submit(pp::square, 3).result(), 9);  // the pool is fine
}

TEST(ProcessPoolSubmit, ArgumentsAreDestroyedInTheWorkerAfterTheCall) {  // CPython's tests
  const std::string path = temp_path("cf_probe");
  cf::ProcessPoolExecutor pool(1);
  const pid_t worker = pool.submit(use_probe, Probe{path}).result();
  const std::string mark = path + "." + std::to_string(worker);
  EXPECT_TRUE(std::filesystem::exists(mark));
  std::filesystem::remove(mark);
  std::filesystem::remove(path + "." + std::to_string(getpid()));
}

TEST(ProcessPoolSubmit, NoStaleReferences) {  // CPython's tests: the pool keeps nothing of a finished call
  cf::ProcessPoolExecutor pool(1);
  auto f = pool.submit(pp::square, 4);
  EXPECT_EQ(f.result(), 16);
  // The reply thread drops its reference right after completing the future.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (cf::detail::HandleAccess::state(f)->use_count() != 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(cf::detail::HandleAccess::state(f)->use_count(), 1u);
}

TEST(ProcessPoolSubmit, CallbacksWaitAndAsCompletedWork) {
  cf::ProcessPoolExecutor pool(2);
  std::promise<int> seen;
  auto f = pool.submit(pp::sleep_ms, 20);
  f.add_done_callback([&](cf::Future<int> g) { seen.set_value(g.result()); });
  EXPECT_EQ(seen.get_future().get(), 20);

  std::vector<cf::Future<int>> fs{pool.submit(pp::sleep_ms, 200), pool.submit(pp::square, 3)};
  auto [done, not_done] = cf::wait(fs, cf::FIRST_COMPLETED);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result(), 9);
  int n = 0;
  for (auto g : cf::as_completed(fs)) n += g.done() ? 1 : 0;
  EXPECT_EQ(n, 2);
}

TEST(ProcessPoolSubmit, SubmitFromADoneCallback) {
  cf::ProcessPoolExecutor pool(2);
  std::promise<cf::Future<int>> chained;
  pool.submit(pp::square, 2).add_done_callback([&](cf::Future<int> f) {
    chained.set_value(pool.submit(pp::square, f.result()));
  });
  EXPECT_EQ(chained.get_future().get().result(), 16);
}

// A done-callback runs in the pool's manager thread, which also reads the replies: a wait there
// on another call of the same pool keeps reading them instead of blocking (result, cf::wait,
// as_completed), so it returns.
TEST(ProcessPoolSubmit, DoneCallbackCanWaitForAnotherCallOfThePool) {
  cf::ProcessPoolExecutor pool(2);
  std::promise<int> seen;
  pool.submit(pp::square, 2).add_done_callback([&](cf::Future<int> f) {
    auto next = pool.submit(pp::square, f.result());
    auto slow = pool.submit(pp::sleep_ms, 20);
    std::vector<cf::Future<int>> both{next, slow};
    cf::wait(both, cf::FIRST_COMPLETED);
    int sum = 0;
    for (auto g : cf::as_completed(both)) sum += g.result();
    seen.set_value(next.result() + sum);
  });
  auto got = seen.get_future();
  ASSERT_EQ(got.wait_for(60s), std::future_status::ready);
  EXPECT_EQ(got.get(), 16 + 16 + 20);
}

// The callback of a call that completes while a callback waits runs inside that wait, and may
// wait in turn; the outer wait returns once the inner callbacks have returned.
TEST(ProcessPoolSubmit, DoneCallbacksCanWaitInsideEachOther) {
  cf::ProcessPoolExecutor pool(1);
  std::promise<int> seen;
  pool.submit(pp::square, 2).add_done_callback([&](cf::Future<int> f) {
    auto middle = pool.submit(pp::square, f.result());  // 16
    std::promise<int> inner_seen;
    auto inner_result = inner_seen.get_future();
    middle.add_done_callback([&](cf::Future<int> m) {
      auto inner = pool.submit(pp::add, m.result(), 1);  // 17
      inner_seen.set_value(inner.result());
    });
    const int m = middle.result();
    EXPECT_EQ(inner_result.wait_for(0s), std::future_status::ready);  // the inner callback ran
    seen.set_value(m + inner_result.get());
  });
  auto got = seen.get_future();
  ASSERT_EQ(got.wait_for(60s), std::future_status::ready);
  EXPECT_EQ(got.get(), 16 + 17);
}

TEST(ProcessPoolSubmit, FuturesOutliveThePool) {
  cf::Future<int> f;
  {
    cf::ProcessPoolExecutor pool(1);
    f = pool.submit(pp::sleep_ms, 30);
  }
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.result(), 30);
}

// API.md "Executors": the process pool is a cf::Executor like any other. Through a cf::Executor&,
// submit and map serialize the call; one that cannot cross fails its future with a
// SerializationError that names the callable and why.
TEST(ProcessPoolSubmit, ThroughExecutorReferenceRunsInAWorker) {
  using cftest::collect;
  cf::ProcessPoolExecutor pool(1);
  cf::Executor& executor = pool;
  EXPECT_EQ(executor.submit(pp::square, 7).result(), 49);
  EXPECT_NE(executor.submit([] { return getpid(); }).result(), getpid()) << "ran in a worker process";
  EXPECT_EQ(collect(executor.map(pp::square, std::vector{1, 2, 3})), (std::vector<int>{1, 4, 9}));
  EXPECT_EQ(collect(executor.map(pp::square, std::vector{1, 2, 3, 4, 5}, cf::MapOptions{.chunksize = 2})),
            (std::vector<int>{1, 4, 9, 16, 25}));
  int captured = 3;
  auto refused = executor.submit([captured] { return captured; });
  try {
    refused.result();
    FAIL() << "a capturing lambda crossed";
  } catch (const cf::SerializationError& e) {
    EXPECT_NE(std::string(e.what()).find("carries state"), std::string::npos) << e.what();
  }
  auto pointer = executor.submit([](const int* p) { return *p; }, &captured);
  EXPECT_THROW(pointer.result(), cf::SerializationError);
  auto chunked =
      executor.map([captured](int x) { return x + captured; }, std::vector{1, 2, 3}, cf::MapOptions{.chunksize = 2});
  int failed = 0;
  for (auto it = chunked.begin(); it != chunked.end(); ++it) {
    try {
      (void)*it;
    } catch (const cf::SerializationError&) {
      ++failed;
    }
  }
  EXPECT_EQ(failed, 3) << "every position of a map that cannot cross fails";
  EXPECT_EQ(pool.submit(pp::square, 5).result(), 25) << "the pool stays usable";
}
