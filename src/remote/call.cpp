// The compiled half of detail/remote/call.hpp: its error messages and CallContext::fail.
#include "cfutures/detail/remote/call.hpp"

#include <string>

namespace concurrent::futures::detail::remote {

std::string why_not_crossing(const char* callable, std::string_view reason) {
  return "cannot send a call of " + demangle(callable) + " to another process: " + std::string(reason);
}

std::exception_ptr argument_encoding_error(const char* callable) noexcept {
  try {
    return std::make_exception_ptr(SerializationError("could not serialize the arguments of a call to " +
                                                      demangle(callable) + ": " +
                                                      describe_exception(std::current_exception())));
  } catch (...) {
    return std::current_exception();
  }
}

std::exception_ptr result_decoding_error(const char* callable) noexcept {
  try {
    return std::make_exception_ptr(SerializationError("could not deserialize the result of " + demangle(callable) +
                                                      ": " + describe_exception(std::current_exception())));
  } catch (...) {
    return std::current_exception();
  }
}

void CallContext::fail(Phase phase, const char* callable) noexcept {
  std::exception_ptr error = std::current_exception();
  try {
    if (phase != Phase::kCall) {
      const std::string what = phase == Phase::kDecodeArguments ? "could not deserialize the arguments of a call to "
                                                                : "could not serialize the result of ";
      error = std::make_exception_ptr(
          SerializationError(what + demangle(callable) + " in the worker: " + describe_exception(error)));
    }
    if (failures_++ == 0) first_failure_ = error;
    std::string site(site_);
    char buffer[256];
    site += ", calling ";
    site += target_ != 0 ? describe_code(reinterpret_cast<const void*>(target_), buffer, sizeof buffer)
                         : demangle(callable).c_str();
    if (phase == Phase::kEncodeResult) {
      reply_.replace_value(error, site);
    } else {
      reply_.put_error(error, site);
    }
  } catch (...) {  // out of memory while describing the failure: the reply may be short, which
                   // the pool reports as a malformed reply for this call
  }
}

}  // namespace concurrent::futures::detail::remote
