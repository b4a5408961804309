// What every pool of this library shares in its set-up and its faults: the check of a requested
// worker count, and the report of an initializer that threw.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace concurrent::futures::detail {

// `requested`, or `fallback` when unset. Throws std::invalid_argument naming max_workers if
// the requested count is not positive.
std::size_t checked_max_workers(std::optional<int> requested, std::size_t fallback);

// Prints "Exception in initializer:\n<description>" to stderr (CPython logs the same), where
// description is "Type: what".
void report_initializer_error(std::string_view description) noexcept;

}  // namespace concurrent::futures::detail
