// Helpers for the cf::wait tests: comparing a wait() result with the expected lists.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "core_fixtures.hpp"

namespace waittest {

namespace cf = concurrent::futures;
using cftest::FState;
using cftest::make_future;
using Futures = std::vector<cf::Future<int>>;
using namespace std::chrono_literals;

// Checks both lists of `result`, in order (wait() keeps the order of first appearance).
template <class F>
void expect_split(const cf::DoneAndNotDone<F>& result, const std::vector<F>& done, const std::vector<F>& not_done) {
  EXPECT_EQ(result.done, done) << "done list (in order of first appearance)";
  EXPECT_EQ(result.not_done, not_done) << "not_done list (in order of first appearance)";
}

}  // namespace waittest
