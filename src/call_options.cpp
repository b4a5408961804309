#include "cfutures/call_options.hpp"

#include <stdexcept>

namespace concurrent::futures::detail {

void check_call_options(const CallOptions& options) {
  if (options.retries < 0) throw std::invalid_argument("CallOptions: retries must be >= 0");
  if (options.timeout && *options.timeout <= std::chrono::nanoseconds::zero())
    throw std::invalid_argument("CallOptions: timeout must be > 0");
}

std::size_t check_map_options(const MapOptions& options) {
  if (options.chunksize == 0) throw std::invalid_argument("map: chunksize must be >= 1");
  if (options.call_timeout && *options.call_timeout <= std::chrono::nanoseconds::zero())
    throw std::invalid_argument("map: call_timeout must be > 0");
  if (options.buffersize && *options.buffersize == 0)
    throw std::invalid_argument("map: buffersize must be None or > 0");
  return options.buffersize.value_or(0);
}

}  // namespace concurrent::futures::detail
