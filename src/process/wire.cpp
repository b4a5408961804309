#include "process/wire.hpp"

#include <algorithm>
#include <cstring>

namespace concurrent::futures::detail::process {

namespace {

// memcpy, for sizes that may be 0 with a null pointer (an empty payload's data()).
void copy_bytes(void* to, const void* from, std::size_t size) noexcept {
  if (size != 0) std::memcpy(to, from, size);
}

}  // namespace

namespace {

FrameHeader make_header(Kind kind, std::uint8_t flags, std::uint64_t id, const char* payload,
                        std::uint32_t length) noexcept {
  FrameHeader header{};
  header.tag = kFrameMagic << 16 | static_cast<std::uint32_t>(kind) << 8 | flags;
  header.length = length;
  header.id = id;
  header.payload_hash = hash_bytes(payload, length);
  header.header_hash = hash_bytes(&header, offsetof(FrameHeader, header_hash));
  return header;
}

// Copies `size` bytes into the ring at `position`, wrapping at the end.
void copy_in(const RingView& ring, std::uint64_t position, const void* from, std::size_t size) noexcept {
  const std::size_t at = position & (ring.capacity - 1);
  const std::size_t first = std::min<std::size_t>(size, ring.capacity - at);
  copy_bytes(ring.data + at, from, first);
  copy_bytes(ring.data, static_cast<const unsigned char*>(from) + first, size - first);
}

}  // namespace

FrameWriter::FrameWriter(RingView ring) noexcept
    : ring_(ring), tail_(ring.control->tail.load(std::memory_order_relaxed)) {}

std::uint64_t FrameWriter::free_bytes() const noexcept {
  const std::uint64_t head = ring_.control->head.load(std::memory_order_seq_cst);
  const std::uint64_t used = tail_ - head;
  return used > ring_.capacity ? 0 : ring_.capacity - used;
}

FrameWriter::Status FrameWriter::write(Kind kind, std::uint64_t id, std::string_view payload,
                                       Progress& progress) noexcept {
  Status status = Status::kDone;
  while (!progress.started || progress.offset < payload.size()) {
    const std::uint64_t head = ring_.control->head.load(std::memory_order_seq_cst);
    const std::uint64_t used = tail_ - head;
    if (used > ring_.capacity) {  // head ahead of tail, or absurdly far behind
      status = Status::kCorrupt;
      break;
    }
    const std::size_t left = payload.size() - progress.offset;
    const auto length = static_cast<std::uint32_t>(std::min<std::size_t>(left, kMaxFragment));
    const std::size_t size = frame_size(length);
    if (size > ring_.capacity - used) {
      status = Status::kFull;
      break;
    }
    std::uint8_t flags = progress.started ? 0 : kFirstFragment;
    if (length == left) flags |= kLastFragment;
    const char* chunk = payload.data() + progress.offset;
    const FrameHeader header = make_header(kind, flags, id, chunk, length);
    copy_in(ring_, tail_, &header, sizeof header);
    copy_in(ring_, tail_ + sizeof header, chunk, length);
    tail_ += size;
    progress.started = true;
    progress.offset += length;
    // Publish each fragment, so that the consumer can free space while we continue.
    ring_.control->tail.store(tail_, std::memory_order_seq_cst);
  }
  return status;
}

FrameReader::FrameReader(RingView ring, KindMask allowed, std::uint64_t max_message) noexcept
    : ring_(ring),
      allowed_(allowed),
      max_message_(max_message),
      head_(ring.control->head.load(std::memory_order_relaxed)) {}

void FrameReader::copy_out(std::uint64_t position, void* to, std::size_t size) const noexcept {
  const std::size_t at = position & (ring_.capacity - 1);
  const std::size_t first = std::min<std::size_t>(size, ring_.capacity - at);
  copy_bytes(to, ring_.data + at, first);
  copy_bytes(static_cast<unsigned char*>(to) + first, ring_.data, size - first);
}

FrameReader::Status FrameReader::next(Message& out) {
  if (corrupt_) return Status::kCorrupt;
  for (;;) {
    const std::uint64_t tail = ring_.control->tail.load(std::memory_order_seq_cst);
    const std::uint64_t available = tail - head_;
    if (available == 0) return Status::kEmpty;
    // Fragments are published whole, so anything shorter than a header is a broken stream.
    if (available > ring_.capacity || available < sizeof(FrameHeader)) break;

    FrameHeader header;
    copy_out(head_, &header, sizeof header);
    if (header.header_hash != hash_bytes(&header, offsetof(FrameHeader, header_hash))) break;
    if (header.tag >> 16 != kFrameMagic) break;
    const auto kind = static_cast<Kind>((header.tag >> 8) & 0xFF);
    const std::uint8_t flags = header.tag & 0xFF;
    if ((static_cast<unsigned>(kind) & ~31u) != 0 || (allowed_ & kind_bit(kind)) == 0) break;
    if ((flags & ~(kFirstFragment | kLastFragment)) != 0) break;
    if (header.length > kMaxFragment || frame_size(header.length) > available) break;
    // Sequence: a message starts with a first fragment; continuations match it.
    if (in_message_) {
      if ((flags & kFirstFragment) != 0 || header.id != id_ || kind != kind_) break;
    } else if ((flags & kFirstFragment) == 0) {
      break;
    }
    const std::size_t old_size = partial_.size();
    if (header.length > max_message_ - std::min<std::uint64_t>(old_size, max_message_)) break;

    partial_.resize(old_size + header.length);
    copy_out(head_ + sizeof header, partial_.data() + old_size, header.length);
    if (hash_bytes(partial_.data() + old_size, header.length) != header.payload_hash) break;

    head_ += frame_size(header.length);
    ring_.control->head.store(head_, std::memory_order_seq_cst);
    in_message_ = true;
    kind_ = kind;
    id_ = header.id;
    if ((flags & kLastFragment) != 0) {
      in_message_ = false;
      out.kind = kind_;
      out.id = id_;
      out.payload.swap(partial_);
      partial_.clear();
      return Status::kMessage;
    }
  }
  corrupt_ = true;
  partial_ = std::string();
  return Status::kCorrupt;
}

}  // namespace concurrent::futures::detail::process
