// The encode/decode pairs of detail/remote/messages.hpp.
#include "cfutures/detail/remote/messages.hpp"

#include <cstring>
#include <utility>

#include "cfutures/detail/state.hpp"
#include "remote/exception_record.hpp"

namespace concurrent::futures::detail::remote {

void encode_init(const InitMessage& message, std::string& out) {
  put_string(out, message.inherited);
  put_raw(out, message.max_calls);
  put_string(out, message.initializer);
}

bool decode_init(std::string_view in, InitMessage& message) noexcept {
  return get_string(in, message.inherited) && get_raw(in, message.max_calls) && get_string(in, message.initializer) &&
         in.empty();
}

std::size_t begin_call_message(std::string& out, const CallHeader& header) {
  const std::size_t at = out.size();
  put_raw(out, header);
  return at + offsetof(CallHeader, count);
}

void finish_call_message(std::string& out, std::size_t at, std::uint32_t count) noexcept {
  std::memcpy(out.data() + at, &count, sizeof count);
}

bool decode_call_header(std::string_view& in, CallHeader& header) noexcept { return get_raw(in, header); }

void ReplyWriter::put_error(std::exception_ptr error, std::string_view site) {
  out_.push_back(static_cast<char>(kErrorOutcome));
  encode_exception(capture_exception(std::move(error), std::string(site)), out_);
}

bool ReplyReader::next_is_value() {
  std::string_view rest = decoder_.remaining();
  std::uint8_t tag = 0;
  if (!get_raw(rest, tag) || (tag != kValueOutcome && tag != kErrorOutcome)) {
    throw MalformedMessage("it sent a malformed reply (no outcome where one was due)");
  }
  decoder_.consume(1);
  return tag == kValueOutcome;
}

std::exception_ptr ReplyReader::take_error() {
  std::string_view rest = decoder_.remaining();
  const std::size_t before = rest.size();
  ExceptionRecord record;
  if (!decode_exception(rest, record)) throw MalformedMessage("it sent a malformed reply (a broken exception record)");
  decoder_.consume(before - rest.size());
  return rebuild_exception(record);
}

void encode_init_failed(std::exception_ptr error, std::string_view site, std::string& out) {
  encode_exception(capture_exception(std::move(error), std::string(site)), out);
}

bool decode_init_failed(std::string_view in, std::string& description) noexcept {
  ExceptionRecord record;
  if (!decode_exception(in, record) || !in.empty()) return false;
  try {
    description = (record.type.empty() ? std::string("unknown") : demangle(record.type.c_str())) + ": " + record.what;
  } catch (...) {
    return false;
  }
  return true;
}

}  // namespace concurrent::futures::detail::remote
