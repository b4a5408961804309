// How an exception crosses from a worker back to the pool: the worker captures its type,
// message and origin into an ExceptionRecord; the pool re-creates the same type when it can
// (standard types, cfutures' own, and types registered with cf::register_exception<E>()),
// and a cf::RemoteError otherwise.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace concurrent::futures::detail::remote {

struct ExceptionRecord {
  bool is_std_exception = false;  // derived from std::exception (so `what` is its what())
  std::string type;               // mangled name of the dynamic type (typeid(e).name())
  std::string what;
  std::string site;  // where it was raised: worker pid and the function called
  // For the std::system_error family: the error code and its category's name
  // ("generic", "system", "iostream", "future"); empty category otherwise.
  std::int64_t code = 0;
  std::string category;
  // For a cf::RemoteError that is itself crossing again: its type_name().
  std::string remote_type;
};

// Captures the exception `error` (from any thrower) with the origin `site`.
ExceptionRecord capture_exception(std::exception_ptr error, std::string site) noexcept;

// Appends the binary form of `record` to `out`.
void encode_exception(const ExceptionRecord& record, std::string& out);
// Parses what encode_exception wrote from the front of `in`, consuming it; false if `in` is
// malformed (never throws).
bool decode_exception(std::string_view& in, ExceptionRecord& record) noexcept;

// Re-creates the exception: the same type where it is known here, else cf::RemoteError.
std::exception_ptr rebuild_exception(const ExceptionRecord& record) noexcept;

}  // namespace concurrent::futures::detail::remote
