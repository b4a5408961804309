// Byte buffers under cereal's binary archives: an output stream that appends to a
// std::string and an input stream over a byte range that never reads past it.
#pragma once

#include <cereal/archives/binary.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace concurrent::futures::detail::remote {

// Appends everything written to *target.
class StringSink : public std::streambuf {
 public:
  void reset(std::string* target) noexcept { target_ = target; }

 protected:
  std::streamsize xsputn(const char* data, std::streamsize size) override {
    target_->append(data, static_cast<std::size_t>(size));
    return size;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) target_->push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

 private:
  std::string* target_ = nullptr;
};

// Reads from a fixed byte range; a read past its end returns short (cereal then throws).
class RangeSource : public std::streambuf {
 public:
  void reset(std::string_view bytes) noexcept {
    char* begin = const_cast<char*>(bytes.data());  // read-only use: get area only
    setg(begin, begin, begin + bytes.size());
  }
  // The bytes not read yet.
  std::string_view remaining() const noexcept { return {gptr(), static_cast<std::size_t>(egptr() - gptr())}; }
  // Marks the first `n` remaining bytes read (n <= remaining().size()).
  void consume(std::size_t n) noexcept { setg(eback(), gptr() + n, egptr()); }
};

// An output archive appending to `target`. One per message: cereal archives keep per-archive
// tables (shared pointers already written), so they are not reused across messages.
class Encoder {
 public:
  explicit Encoder(std::string& target) : stream_(&sink_) { sink_.reset(&target); }
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  cereal::BinaryOutputArchive& archive() noexcept { return archive_; }

 private:
  StringSink sink_;
  std::ostream stream_;
  cereal::BinaryOutputArchive archive_{stream_};
};

// An input archive over `bytes`.
class Decoder {
 public:
  explicit Decoder(std::string_view bytes) : stream_(&source_) { source_.reset(bytes); }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;
  cereal::BinaryInputArchive& archive() noexcept { return archive_; }
  // Raw access between archive reads, for the parts of a payload that are not cereal's.
  std::string_view remaining() const noexcept { return source_.remaining(); }
  void consume(std::size_t n) noexcept { source_.consume(n); }

 private:
  RangeSource source_;
  std::istream stream_;
  cereal::BinaryInputArchive archive_{stream_};
};

// Raw little helpers for the fixed-layout parts of payloads.
template <class T>
void put_raw(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}
template <class T>
bool get_raw(std::string_view& in, T& value) noexcept {
  if (in.size() < sizeof value) return false;
  std::memcpy(&value, in.data(), sizeof value);
  in.remove_prefix(sizeof value);
  return true;
}

// A string as its 32-bit length and its bytes.
inline void put_string(std::string& out, std::string_view s) {
  put_raw(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}
inline bool get_string(std::string_view& in, std::string& s) noexcept {
  std::uint32_t size = 0;
  if (!get_raw(in, size) || size > in.size()) return false;
  try {
    s.assign(in.data(), size);
  } catch (...) {
    return false;
  }
  in.remove_prefix(size);
  return true;
}

}  // namespace concurrent::futures::detail::remote
