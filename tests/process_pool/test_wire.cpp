// The process pool's wire format: frames in a shared-memory ring (detail/process/wire.hpp)
// and exception records (detail/process/exception_record.hpp). Whatever a worker writes, the
// reader must answer kMessage, kEmpty or kCorrupt, never crash or loop; this file also feeds
// it a corpus of malformed and random frames (the libFuzzer target in fuzz/ goes further).
#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hash_bytes.hpp"
#include "process/wire.hpp"
#include "remote/exception_record.hpp"

namespace cf = concurrent::futures;
namespace pr = cf::detail::process;
namespace rm = cf::detail::remote;
using Status = pr::FrameReader::Status;

namespace {

// An exception record that must fill `bytes` exactly.
bool decode_whole(std::string_view bytes, rm::ExceptionRecord& record) {
  return rm::decode_exception(bytes, record) && bytes.empty();
}

// A ring in ordinary memory.
struct Ring {
  explicit Ring(std::uint32_t capacity) : data(capacity) {
    view.control = &control;
    view.data = data.data();
    view.capacity = capacity;
  }
  pr::RingControl control;
  std::vector<unsigned char> data;
  pr::RingView view;
};

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Writes one whole message (the ring must have room).
void put(Ring& ring, pr::Kind kind, std::uint64_t id, const std::string& payload) {
  pr::FrameWriter writer(ring.view);
  pr::FrameWriter::Progress progress;
  ASSERT_EQ(writer.write(kind, id, payload, progress), pr::FrameWriter::Status::kDone);
}

Status read_one(Ring& ring, pr::FrameReader::Message& out, pr::KindMask allowed = pr::kReplyKinds) {
  pr::FrameReader reader(ring.view, allowed);
  return reader.next(out);
}

// Applies `damage` to a ring holding one valid 100-byte reply and expects kCorrupt.
template <class Damage>
void expect_corrupt(Damage damage, const char* what) {
  Ring ring(4096);
  put(ring, pr::Kind::kReply, 7, std::string(100, 'p'));
  damage(ring);
  pr::FrameReader reader(ring.view, pr::kReplyKinds);
  pr::FrameReader::Message out;
  EXPECT_EQ(reader.next(out), Status::kCorrupt) << what;
  EXPECT_EQ(reader.next(out), Status::kCorrupt) << what << " (stays corrupt)";
}

pr::FrameHeader header_at(Ring& ring, std::uint64_t position) {
  pr::FrameHeader h;
  std::memcpy(&h, ring.data.data() + position % ring.view.capacity, sizeof h);
  return h;
}
void set_header(Ring& ring, std::uint64_t position, pr::FrameHeader h, bool rehash = true) {
  if (rehash) h.header_hash = cf::detail::hash_bytes(&h, offsetof(pr::FrameHeader, header_hash));
  std::memcpy(ring.data.data() + position % ring.view.capacity, &h, sizeof h);
}

}  // namespace

TEST(ProcessPoolWire, MessagesOfEverySizeCrossIntact) {
  std::mt19937 rng(1);
  const std::vector<std::size_t> sizes = {0,
                                          1,
                                          7,
                                          8,
                                          1000,
                                          pr::kMaxFragment - 1,
                                          pr::kMaxFragment,
                                          pr::kMaxFragment + 1,
                                          3 * pr::kMaxFragment + 5,
                                          std::size_t{1} << 20};
  std::vector<std::string> payloads;
  for (std::size_t n : sizes) payloads.push_back(random_bytes(rng, n));
  Ring ring(256 * 1024);
  std::thread producer([&] {
    pr::FrameWriter writer(ring.view);
    for (std::size_t i = 0; i < payloads.size(); ++i) {
      pr::FrameWriter::Progress progress;
      while (writer.write(pr::Kind::kReply, i + 1, payloads[i], progress) != pr::FrameWriter::Status::kDone) {
        std::this_thread::yield();
      }
    }
  });
  pr::FrameReader reader(ring.view, pr::kReplyKinds);
  pr::FrameReader::Message message;
  for (std::size_t i = 0; i < payloads.size();) {
    const Status status = reader.next(message);
    ASSERT_NE(status, Status::kCorrupt);
    if (status == Status::kEmpty) {
      std::this_thread::yield();
      continue;
    }
    EXPECT_EQ(message.kind, pr::Kind::kReply);
    EXPECT_EQ(message.id, i + 1);
    EXPECT_EQ(message.payload, payloads[i]) << "size " << sizes[i];
    ++i;
  }
  producer.join();
  EXPECT_FALSE(reader.has_data());
}

TEST(ProcessPoolWire, WriterStopsWhenFullAndResumes) {
  Ring ring(256 * 1024);
  pr::FrameWriter writer(ring.view);
  const std::string big(600 * 1024, 'b');
  pr::FrameWriter::Progress progress;
  EXPECT_EQ(writer.write(pr::Kind::kCall, 1, big, progress), pr::FrameWriter::Status::kFull);
  EXPECT_TRUE(progress.started);
  EXPECT_GT(progress.offset, 0u);
  EXPECT_LT(progress.offset, big.size());
  pr::FrameReader reader(ring.view, pr::kRequestKinds);
  pr::FrameReader::Message message;
  Status status;
  while ((status = reader.next(message)) != Status::kMessage) {
    ASSERT_EQ(status, Status::kEmpty);
    ASSERT_NE(writer.write(pr::Kind::kCall, 1, big, progress), pr::FrameWriter::Status::kCorrupt);
  }
  EXPECT_EQ(message.payload, big);
}

TEST(ProcessPoolWire, ReaderRejectsMalformedStreams) {
  expect_corrupt([](Ring& r) { r.control.tail.store(r.control.tail.load() + 5 * 4096); }, "tail too far ahead");
  expect_corrupt([](Ring& r) { r.control.tail.store(r.control.tail.load() - 16); }, "truncated frame");
  expect_corrupt(
      [](Ring& r) {
        r.data[0] ^= 1;  // the magic's bits, without fixing the header hash
      },
      "header hash");
  expect_corrupt(
      [](Ring& r) {
        auto h = header_at(r, 0);
        h.tag = (0x1234u << 16) | (h.tag & 0xFFFF);
        set_header(r, 0, h);
      },
      "magic");
  expect_corrupt([](Ring& r) { r.data[sizeof(pr::FrameHeader) + 3] ^= 0x40; }, "payload hash");
  expect_corrupt(
      [](Ring& r) {
        auto h = header_at(r, 0);
        h.tag = (h.tag & ~0xFF00u) | (static_cast<unsigned>(pr::Kind::kCall) << 8);  // not a reply kind
        set_header(r, 0, h);
      },
      "kind");
  expect_corrupt(
      [](Ring& r) {
        auto h = header_at(r, 0);
        h.tag = (h.tag & ~0xFF00u) | (200u << 8);  // no such kind
        set_header(r, 0, h);
      },
      "unknown kind");
  expect_corrupt(
      [](Ring& r) {
        auto h = header_at(r, 0);
        h.tag |= 0x80;  // unknown flag
        set_header(r, 0, h);
      },
      "flags");
  expect_corrupt(
      [](Ring& r) {
        auto h = header_at(r, 0);
        h.tag &= ~std::uint32_t{pr::kFirstFragment};  // a continuation with nothing before it
        set_header(r, 0, h);
      },
      "continuation first");
  expect_corrupt(
      [](Ring& r) {
        auto h = header_at(r, 0);
        h.length = pr::kMaxFragment + 1;
        set_header(r, 0, h);
      },
      "fragment too long");
  expect_corrupt(
      [](Ring& r) {
        auto h = header_at(r, 0);
        h.length = 2000;  // longer than what was published
        set_header(r, 0, h);
      },
      "length beyond tail");
  expect_corrupt([](Ring& r) { r.control.tail.store(8); }, "less than a header");
}

TEST(ProcessPoolWire, ReaderRejectsFragmentsOutOfSequence) {
  Ring ring(512 * 1024);
  // Two messages interleaved: a first fragment, then another message's first fragment.
  pr::FrameWriter writer(ring.view);
  const std::string two_fragments(pr::kMaxFragment + 10, 'a');
  pr::FrameWriter::Progress progress;
  ASSERT_EQ(writer.write(pr::Kind::kReply, 1, two_fragments, progress), pr::FrameWriter::Status::kDone);
  // Turn the second fragment into a first fragment of message 2.
  const std::uint64_t second = pr::frame_size(pr::kMaxFragment);
  auto h = header_at(ring, second);
  h.tag |= pr::kFirstFragment;
  h.id = 2;
  set_header(ring, second, h);
  pr::FrameReader::Message out;
  EXPECT_EQ(read_one(ring, out), Status::kCorrupt);
}

TEST(ProcessPoolWire, ReaderRejectsOversizedMessages) {
  Ring ring(512 * 1024);
  put(ring, pr::Kind::kReply, 1, std::string(100000, 'x'));
  pr::FrameReader reader(ring.view, pr::kReplyKinds, 50000);
  pr::FrameReader::Message out;
  EXPECT_EQ(reader.next(out), Status::kCorrupt);
}

TEST(ProcessPoolWire, WriterRejectsAnImpossibleHead) {
  Ring ring(4096);
  put(ring, pr::Kind::kReply, 1, "x");
  ring.control.head.store(ring.control.tail.load() + 64);  // consumer "ahead" of the producer
  pr::FrameWriter writer(ring.view);
  pr::FrameWriter::Progress progress;
  EXPECT_EQ(writer.write(pr::Kind::kReply, 2, "y", progress), pr::FrameWriter::Status::kCorrupt);
}

TEST(ProcessPoolWire, RandomBytesNeverCrashTheReader) {  // the corpus run without libFuzzer
  std::mt19937 rng(12345);
  for (int round = 0; round < 20000; ++round) {
    Ring ring(4096);
    const std::size_t n = rng() % 4200;
    const std::string junk = random_bytes(rng, n);
    std::memcpy(ring.data.data(), junk.data(), std::min<std::size_t>(n, 4096));
    ring.control.tail.store(round % 3 == 0 ? rng() : n);
    if (round % 5 == 0 && n >= sizeof(pr::FrameHeader)) {  // a valid header over junk: reach deeper checks
      pr::FrameHeader h = header_at(ring, 0);
      h.tag = pr::kFrameMagic << 16 | static_cast<std::uint32_t>(pr::Kind::kReply) << 8 | (rng() & 3);
      h.length = static_cast<std::uint32_t>(rng() % 5000);
      set_header(ring, 0, h);
    }
    pr::FrameReader reader(ring.view, pr::kReplyKinds);
    pr::FrameReader::Message out;
    for (int i = 0; i < 100 && reader.next(out) == Status::kMessage; ++i) {
      rm::ExceptionRecord record;
      if (decode_whole(out.payload, record)) (void)rm::rebuild_exception(record);
    }
  }
}

TEST(ProcessPoolWire, ExceptionRecordsRoundTrip) {
  rm::ExceptionRecord record;
  record.is_std_exception = true;
  record.type = typeid(std::out_of_range).name();
  record.what = "index 3";
  record.site = "in worker process 12";
  std::string bytes;
  rm::encode_exception(record, bytes);
  rm::ExceptionRecord back;
  ASSERT_TRUE(decode_whole(bytes, back));
  EXPECT_EQ(back.type, record.type);
  EXPECT_EQ(back.what, record.what);
  EXPECT_EQ(back.site, record.site);
  EXPECT_THROW(std::rethrow_exception(rm::rebuild_exception(back)), std::out_of_range);
  // Every truncation, and trailing bytes, are rejected.
  for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(decode_whole(bytes.substr(0, n), back)) << n;
  EXPECT_FALSE(decode_whole(bytes + "x", back));
  // A length that points past the end.
  std::string lying = bytes;
  lying[9] = '\x7f';
  EXPECT_FALSE(decode_whole(lying, back));
}

TEST(ProcessPoolWire, UnknownExceptionTypesBecomeRemoteError) {
  rm::ExceptionRecord record;
  record.is_std_exception = true;
  record.type = "N2my8NotKnownE";
  record.what = "details";
  record.site = "somewhere";
  try {
    std::rethrow_exception(rm::rebuild_exception(record));
  } catch (const cf::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "my::NotKnown");
    EXPECT_STREQ(e.what(), "details");
    EXPECT_EQ(e.remote_site(), "somewhere");
  }
  record.type = "\xff garbage that does not demangle";
  EXPECT_THROW(std::rethrow_exception(rm::rebuild_exception(record)), cf::RemoteError);
}
