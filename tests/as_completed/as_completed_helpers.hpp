// Helpers for the cf::as_completed tests.
#pragma once

#include <gtest/gtest.h>

#include <type_traits>
#include <vector>

#include "core_fixtures.hpp"

namespace actest {

namespace cf = concurrent::futures;
using cftest::FState;
using cftest::make_future;
using Futures = std::vector<cf::Future<int>>;
using namespace std::chrono_literals;

// Reads `count` futures from `range` (advancing after each), in the order yielded.
template <class Range>
auto take(Range& range, std::size_t count) {
  std::vector<typename Range::iterator::value_type> out;
  auto it = range.begin();
  for (std::size_t i = 0; i < count; ++i, ++it) out.push_back(*it);
  return out;
}

// Reads everything that is left (of a named range or a temporary one).
template <class Range>
auto drain(Range&& range) {
  std::vector<typename std::remove_cvref_t<Range>::iterator::value_type> out;
  for (auto f : range) out.push_back(f);
  return out;
}

}  // namespace actest
