// describe()/operator<< (Python's repr) and the InvalidStateError messages built from it
// (API.md "cf::Future<T>" describe; CPython's test_repr, test_multiple_set_result,
// test_multiple_set_exception; CPython: message "FINISHED: <Future at 0x… state=finished
// returned int>").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using cftest::FState;
using cftest::make_future;
using testing::MatchesRegex;

constexpr const char* kAddress = "0x[0-9a-f]+";

// Built by appending: GCC 12's -Warray-bounds misfires on a chain of operator+ here.
std::string repr_regex(const std::string& tail) {
  std::string regex = "<Future at ";
  regex.append(kAddress).append(" state=").append(tail).append(">");
  return regex;
}

TEST(FutureDescribe, ReprOfEveryState) {  // CPython's test_repr
  EXPECT_THAT(make_future(FState::Pending).describe(), MatchesRegex(repr_regex("pending")));
  EXPECT_THAT(make_future(FState::Running).describe(), MatchesRegex(repr_regex("running")));
  EXPECT_THAT(make_future(FState::Cancelled).describe(), MatchesRegex(repr_regex("cancelled")));
  EXPECT_THAT(make_future(FState::CancelledNotified).describe(), MatchesRegex(repr_regex("cancelled")));
  EXPECT_THAT(make_future(FState::Finished).describe(), MatchesRegex(repr_regex("finished returned int")));
  EXPECT_THAT(make_future(FState::Failed).describe(), MatchesRegex(repr_regex("finished raised cftest::OSError")));
}

TEST(FutureDescribe, ReprNamesResultAndExceptionTypes) {  // CPython's tests: "returned <type>", "raised <type>"
  cf::Future<void> v;
  v.set_result();
  EXPECT_THAT(v.describe(), MatchesRegex(repr_regex("finished returned void")));
  cf::Future<double> d;
  d.set_result(1.5);
  EXPECT_THAT(d.describe(), MatchesRegex(repr_regex("finished returned double")));
  cf::Future<int> e;
  e.set_exception(std::make_exception_ptr(std::out_of_range("x")));
  EXPECT_THAT(e.describe(), MatchesRegex(repr_regex("finished raised std::out_of_range")));
  cf::Future<int> raw;
  raw.set_exception(std::make_exception_ptr(42));  // not a std::exception
  EXPECT_THAT(raw.describe(), MatchesRegex(repr_regex("finished raised int")));
}

TEST(FutureDescribe, AddressIdentifiesTheSharedState) {  // handles to one future print the same address
  cf::Future<int> f;
  cf::Future<int> copy = f;
  cf::AnyFuture any = f;
  EXPECT_EQ(f.describe(), copy.describe());
  EXPECT_EQ(f.describe(), any.describe());
  EXPECT_NE(f.describe(), cf::Future<int>().describe());
}

TEST(FutureDescribe, StreamOperatorPrintsDescribe) {  // API.md describe()/operator<<
  cf::Future<int> f;
  f.set_result(1);
  std::ostringstream typed;
  typed << f;
  EXPECT_EQ(typed.str(), f.describe());
  std::ostringstream erased;
  erased << cf::AnyFuture(f);
  EXPECT_EQ(erased.str(), f.describe());
}

TEST(FutureInvalidState, MultipleSetResult) {  // CPython's test_multiple_set_result
  cf::Future<int> f;
  f.set_result(1);
  try {
    f.set_result(2);
    FAIL() << "set_result on a finished future did not throw";
  } catch (const cf::InvalidStateError& e) {
    EXPECT_THAT(e.what(), MatchesRegex("FINISHED: " + repr_regex("finished returned int")));
    EXPECT_EQ(std::string(e.what()), "FINISHED: " + f.describe());
  }
  EXPECT_EQ(f.result(), 1) << "the first result stays";
}

TEST(FutureInvalidState, MultipleSetException) {  // CPython's test_multiple_set_exception
  cf::Future<int> f;
  auto first = std::make_exception_ptr(std::invalid_argument("first"));
  f.set_exception(first);
  try {
    f.set_exception(std::make_exception_ptr(std::invalid_argument("second")));
    FAIL() << "set_exception on a finished future did not throw";
  } catch (const cf::InvalidStateError& e) {
    EXPECT_THAT(e.what(), MatchesRegex("FINISHED: " + repr_regex("finished raised std::invalid_argument")));
  }
  EXPECT_EQ(f.exception(), first) << "the first exception stays";
  EXPECT_EQ(cftest::what_of(f.exception()), "first");
}

TEST(FutureInvalidState, MessagesNameTheCurrentState) {  // CPython: '{state}: {repr}'
  auto cancelled = make_future(FState::Cancelled);
  try {
    cancelled.set_result(1);
    FAIL();
  } catch (const cf::InvalidStateError& e) {
    EXPECT_EQ(std::string(e.what()), "CANCELLED: " + cancelled.describe());
  }
  auto running = make_future(FState::Running);
  try {
    running.set_running_or_notify_cancel();
    FAIL();
  } catch (const cf::InvalidStateError& e) {
    EXPECT_EQ(std::string(e.what()), "RUNNING: " + running.describe());
  }
  // InvalidStateError is a cf::Error and a std::runtime_error, as the hierarchy promises.
  EXPECT_THROW(cancelled.set_result(1), cf::Error);
  EXPECT_THROW(cancelled.set_result(1), std::runtime_error);
}

}  // namespace
