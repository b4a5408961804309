#include "pool_support.hpp"

#include <cstdio>
#include <stdexcept>

namespace concurrent::futures::detail {

std::size_t checked_max_workers(std::optional<int> requested, std::size_t fallback) {
  if (!requested) return fallback;
  if (*requested <= 0) throw std::invalid_argument("max_workers must be greater than 0");
  return static_cast<std::size_t>(*requested);
}

void report_initializer_error(std::string_view description) noexcept {
  std::fprintf(stderr, "Exception in initializer:\n%.*s\n", static_cast<int>(description.size()), description.data());
}

}  // namespace concurrent::futures::detail
