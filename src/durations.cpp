#include "durations.hpp"

#include <cstdio>

namespace concurrent::futures::detail {

std::string format_duration(std::chrono::duration<double> duration) {
  const double seconds = duration.count();
  char text[64];
  if (seconds >= 1 || seconds <= 0) {
    std::snprintf(text, sizeof text, "%.6g s", seconds);
  } else if (seconds >= 1e-3) {
    std::snprintf(text, sizeof text, "%.6g ms", seconds * 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.6g us", seconds * 1e6);
  }
  return text;
}

}  // namespace concurrent::futures::detail
