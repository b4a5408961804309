// How durations read in this library's messages.
#pragma once

#include <chrono>
#include <string>

namespace concurrent::futures::detail {

// "2.5 s", "250 ms", "40 us", "0 s": six significant digits in the largest unit below the value.
std::string format_duration(std::chrono::duration<double> duration);

}  // namespace concurrent::futures::detail
