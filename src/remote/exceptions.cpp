// Exceptions crossing back from a worker: capture (worker side), the binary record, and
// re-creation (pool side) from the built-in table or the cf::register_exception registry.
#include <cxxabi.h>

#include <any>
#include <cstring>
#include <functional>
#include <future>
#include <ios>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <typeinfo>
#include <unordered_map>
#include <variant>

#include "cfutures/detail/remote/codec.hpp"
#include "cfutures/detail/state.hpp"
#include "cfutures/errors.hpp"
#include "cfutures/serialization.hpp"
#include "remote/exception_record.hpp"

namespace concurrent::futures::detail::remote {
namespace {

using Factory = std::exception_ptr (*)(const ExceptionRecord& record);

template <class E>
std::exception_ptr from_message(const ExceptionRecord& record) {
  return std::make_exception_ptr(E(record.what));
}
// Types whose message is fixed by the library: re-created default-constructed.
template <class E>
std::exception_ptr from_default(const ExceptionRecord&) {
  return std::make_exception_ptr(E());
}

const std::error_category* category_named(const std::string& name) noexcept {
  if (name == std::generic_category().name()) return &std::generic_category();
  if (name == std::system_category().name()) return &std::system_category();
  if (name == std::iostream_category().name()) return &std::iostream_category();
  if (name == std::future_category().name()) return &std::future_category();
  return nullptr;
}

// The part of `what` before ": <message of ec>", which system_error's constructor appends.
std::string what_prefix(const std::string& what, const std::error_code& ec) {
  const std::string suffix = ": " + ec.message();
  if (what.size() >= suffix.size() && what.compare(what.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return what.substr(0, what.size() - suffix.size());
  }
  return what;
}

std::exception_ptr remote(const ExceptionRecord& record);

std::exception_ptr system_error_of(const ExceptionRecord& record) {
  const std::error_category* category = category_named(record.category);
  if (category == nullptr) return remote(record);
  const std::error_code ec(static_cast<int>(record.code), *category);
  if (record.what == ec.message()) return std::make_exception_ptr(std::system_error(ec));
  return std::make_exception_ptr(std::system_error(ec, what_prefix(record.what, ec)));
}

std::exception_ptr ios_failure_of(const ExceptionRecord& record) {
  const std::error_category* category = category_named(record.category);
  if (category == nullptr) return remote(record);
  const std::error_code ec(static_cast<int>(record.code), *category);
  return std::make_exception_ptr(std::ios_base::failure(what_prefix(record.what, ec), ec));
}

std::exception_ptr future_error_of(const ExceptionRecord& record) {
  if (record.category != std::future_category().name()) return remote(record);
  return std::make_exception_ptr(std::future_error(static_cast<std::future_errc>(record.code)));
}

std::exception_ptr remote_error_of(const ExceptionRecord& record) {
  return std::make_exception_ptr(RemoteError(record.remote_type, record.what, record.site));
}

const std::unordered_map<std::string, Factory>& builtin_factories() {
  static const std::unordered_map<std::string, Factory> table = {
      {typeid(std::logic_error).name(), &from_message<std::logic_error>},
      {typeid(std::invalid_argument).name(), &from_message<std::invalid_argument>},
      {typeid(std::domain_error).name(), &from_message<std::domain_error>},
      {typeid(std::length_error).name(), &from_message<std::length_error>},
      {typeid(std::out_of_range).name(), &from_message<std::out_of_range>},
      {typeid(std::runtime_error).name(), &from_message<std::runtime_error>},
      {typeid(std::range_error).name(), &from_message<std::range_error>},
      {typeid(std::overflow_error).name(), &from_message<std::overflow_error>},
      {typeid(std::underflow_error).name(), &from_message<std::underflow_error>},
      {typeid(std::exception).name(), &from_default<std::exception>},
      {typeid(std::bad_alloc).name(), &from_default<std::bad_alloc>},
      {typeid(std::bad_array_new_length).name(), &from_default<std::bad_array_new_length>},
      {typeid(std::bad_cast).name(), &from_default<std::bad_cast>},
      {typeid(std::bad_typeid).name(), &from_default<std::bad_typeid>},
      {typeid(std::bad_exception).name(), &from_default<std::bad_exception>},
      {typeid(std::bad_function_call).name(), &from_default<std::bad_function_call>},
      {typeid(std::bad_optional_access).name(), &from_default<std::bad_optional_access>},
      {typeid(std::bad_variant_access).name(), &from_default<std::bad_variant_access>},
      {typeid(std::bad_weak_ptr).name(), &from_default<std::bad_weak_ptr>},
      {typeid(std::bad_any_cast).name(), &from_default<std::bad_any_cast>},
      {typeid(std::system_error).name(), &system_error_of},
      {typeid(std::ios_base::failure).name(), &ios_failure_of},
      {typeid(std::future_error).name(), &future_error_of},
      {typeid(Error).name(), &from_message<Error>},
      {typeid(CancelledError).name(), &from_message<CancelledError>},
      {typeid(TimeoutError).name(), &from_message<TimeoutError>},
      {typeid(InvalidStateError).name(), &from_message<InvalidStateError>},
      {typeid(ExecutorShutdown).name(), &from_message<ExecutorShutdown>},
      {typeid(BrokenExecutor).name(), &from_message<BrokenExecutor>},
      {typeid(BrokenThreadPool).name(), &from_message<BrokenThreadPool>},
      {typeid(BrokenProcessPool).name(), &from_message<BrokenProcessPool>},
      {typeid(BrokenMPIPool).name(), &from_message<BrokenMPIPool>},
      {typeid(SerializationError).name(), &from_message<SerializationError>},
      {typeid(RemoteError).name(), &remote_error_of},
  };
  return table;
}

struct Registry {
  std::mutex mutex;
  std::unordered_map<std::string, ExceptionFactory> factories;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

std::string demangled(const std::string& mangled) {
  return mangled.empty() ? std::string("unknown") : demangle(mangled.c_str());
}

std::exception_ptr remote(const ExceptionRecord& record) {
  std::string what = record.what;
  if (!record.is_std_exception && what.empty()) {
    what = "an exception of type " + demangled(record.type) + " (not derived from std::exception)";
  }
  return std::make_exception_ptr(RemoteError(demangled(record.type), what, record.site));
}

// An exception with an error_code (std::system_error and its kin, std::future_error).
template <class E>
void capture_with_code(ExceptionRecord& record, const E& e) {
  record.is_std_exception = true;
  record.type = typeid(e).name();
  record.what = e.what();
  record.code = e.code().value();
  record.category = e.code().category().name();
}

}  // namespace

void register_exception_factory(const std::type_info& type, ExceptionFactory factory) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.factories[type.name()] = factory;
}

ExceptionRecord capture_exception(std::exception_ptr error, std::string site) noexcept {
  ExceptionRecord record;
  try {
    record.site = std::move(site);
    try {
      std::rethrow_exception(error);
    } catch (const RemoteError& e) {
      record.is_std_exception = true;
      record.type = typeid(e).name();
      record.what = e.what();
      record.remote_type = e.type_name();
      if (!e.remote_site().empty()) record.site = e.remote_site();
    } catch (const std::system_error& e) {
      capture_with_code(record, e);
    } catch (const std::future_error& e) {
      capture_with_code(record, e);
    } catch (const std::exception& e) {
      record.is_std_exception = true;
      record.type = typeid(e).name();
      record.what = e.what();
    } catch (const char* s) {
      record.type = typeid(const char*).name();
      record.what = s != nullptr ? s : "";
    } catch (const std::string& s) {
      record.type = typeid(std::string).name();
      record.what = s;
    } catch (...) {
      const std::type_info* type = abi::__cxa_current_exception_type();
      record.type = type != nullptr ? type->name() : "";
    }
  } catch (...) {  // out of memory while copying strings: keep what we have
  }
  return record;
}

void encode_exception(const ExceptionRecord& record, std::string& out) {
  put_raw(out, static_cast<std::uint8_t>(record.is_std_exception ? 1 : 0));
  put_raw(out, record.code);
  put_string(out, record.type);
  put_string(out, record.what);
  put_string(out, record.site);
  put_string(out, record.category);
  put_string(out, record.remote_type);
}

bool decode_exception(std::string_view& in, ExceptionRecord& record) noexcept {
  std::uint8_t flags = 0;
  if (!get_raw(in, flags) || flags > 1) return false;
  record.is_std_exception = flags == 1;
  return get_raw(in, record.code) && get_string(in, record.type) && get_string(in, record.what) &&
         get_string(in, record.site) && get_string(in, record.category) && get_string(in, record.remote_type);
}

std::exception_ptr rebuild_exception(const ExceptionRecord& record) noexcept {
  try {
    if (record.is_std_exception) {
      {
        Registry& r = registry();
        std::lock_guard lock(r.mutex);
        if (auto it = r.factories.find(record.type); it != r.factories.end()) return it->second(record.what);
      }
      const auto& builtins = builtin_factories();
      if (auto it = builtins.find(record.type); it != builtins.end()) return it->second(record);
    }
    return remote(record);
  } catch (...) {
    return std::current_exception();  // e.g. std::bad_alloc while building the message
  }
}

}  // namespace concurrent::futures::detail::remote
