// Every message kind of detail/remote/messages.hpp: each encode/decode pair round-trips, and
// each decoder refuses what it did not write (truncations, trailing bytes, broken outcomes)
// instead of reading past it. fuzz/frame_decoder_fuzz.cpp feeds the same decoders random bytes.
#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

namespace cf = concurrent::futures;
namespace rm = cf::detail::remote;

std::string init_bytes() {
  rm::InitMessage init;
  init.inherited = std::string("state\0with a zero", 17);
  init.max_calls = 7;
  init.initializer = "call";
  std::string bytes;
  rm::encode_init(init, bytes);
  return bytes;
}

TEST(ProcessPoolMessages, InitRoundTripsAndRefusesWhatItDidNotWrite) {
  const std::string bytes = init_bytes();
  rm::InitMessage back;
  ASSERT_TRUE(rm::decode_init(bytes, back));
  EXPECT_EQ(back.inherited, std::string("state\0with a zero", 17));
  EXPECT_EQ(back.max_calls, 7u);
  EXPECT_EQ(back.initializer, "call");
  for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(rm::decode_init(bytes.substr(0, n), back)) << n;
  EXPECT_FALSE(rm::decode_init(bytes + "x", back));
}

TEST(ProcessPoolMessages, CallHeaderCarriesItsCountFilledInLast) {
  rm::CallHeader header;
  header.type_hash = 0x1234;
  header.has_target = 1;
  std::string bytes;
  const std::size_t at = rm::begin_call_message(bytes, header);
  bytes += "arguments";
  rm::finish_call_message(bytes, at, 42);
  std::string_view in = bytes;
  rm::CallHeader back;
  ASSERT_TRUE(rm::decode_call_header(in, back));
  EXPECT_EQ(back.count, 42u);
  EXPECT_EQ(back.type_hash, 0x1234u);
  EXPECT_EQ(back.has_target, 1u);
  EXPECT_EQ(in, "arguments") << "the arguments follow the header";
  std::string_view short_input = std::string_view(bytes).substr(0, sizeof(rm::CallHeader) - 1);
  EXPECT_FALSE(rm::decode_call_header(short_input, back));
}

// A reply of three outcomes: a value, an exception, a value.
std::string three_outcomes() {
  std::string bytes;
  rm::ReplyWriter writer(bytes);
  writer.begin_value();
  writer.archive()(std::string("first"));
  writer.put_error(std::make_exception_ptr(std::out_of_range("index 3")), "in worker process 12");
  writer.begin_value();
  writer.archive()(7);
  return bytes;
}

TEST(ProcessPoolMessages, ReplyOutcomesRoundTripInOrder) {
  const std::string bytes = three_outcomes();
  rm::ReplyReader reader(bytes);
  ASSERT_TRUE(reader.next_is_value());
  std::string first;
  reader.archive()(first);
  EXPECT_EQ(first, "first");
  ASSERT_FALSE(reader.next_is_value());
  EXPECT_THROW(std::rethrow_exception(reader.take_error()), std::out_of_range);
  ASSERT_TRUE(reader.next_is_value());
  int third = 0;
  reader.archive()(third);
  EXPECT_EQ(third, 7);
  EXPECT_TRUE(reader.at_end());
}

TEST(ProcessPoolMessages, AReplacedValueBecomesAnErrorOutcome) {
  std::string bytes;
  rm::ReplyWriter writer(bytes);
  writer.begin_value();
  writer.archive()(std::string("half written"));
  writer.replace_value(std::make_exception_ptr(cf::SerializationError("no")), "here");
  rm::ReplyReader reader(bytes);
  ASSERT_FALSE(reader.next_is_value());
  EXPECT_THROW(std::rethrow_exception(reader.take_error()), cf::SerializationError);
  EXPECT_TRUE(reader.at_end()) << "nothing of the abandoned value is left";
}

TEST(ProcessPoolMessages, BrokenOutcomesAreMalformedNotMisread) {
  const std::string bytes = three_outcomes();
  {
    std::string bad_tag = bytes;
    bad_tag[0] = '\x07';
    rm::ReplyReader reader(bad_tag);
    EXPECT_THROW(reader.next_is_value(), rm::MalformedMessage);
  }
  {
    rm::ReplyReader reader(std::string_view{});
    EXPECT_THROW(reader.next_is_value(), rm::MalformedMessage) << "an outcome due where the reply ended";
  }
  {
    std::string error_only;
    rm::ReplyWriter writer(error_only);
    writer.put_error(std::make_exception_ptr(std::runtime_error("boom")), "site");
    for (std::size_t n = 2; n < error_only.size(); ++n) {
      rm::ReplyReader reader(std::string_view(error_only).substr(0, n));
      ASSERT_FALSE(reader.next_is_value());
      EXPECT_THROW(reader.take_error(), rm::MalformedMessage) << n;
    }
  }
}

TEST(ProcessPoolMessages, InitFailedNamesTheInitializersException) {
  std::string bytes;
  rm::encode_init_failed(std::make_exception_ptr(std::runtime_error("no config")), "in worker process 3", bytes);
  std::string description;
  ASSERT_TRUE(rm::decode_init_failed(bytes, description));
  EXPECT_EQ(description, "std::runtime_error: no config");
  EXPECT_FALSE(rm::decode_init_failed(bytes + "x", description));
  EXPECT_FALSE(rm::decode_init_failed(bytes.substr(0, bytes.size() - 1), description));
}

}  // namespace
