#include "process/worker.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include "cfutures/detail/futex.hpp"
#include "process/inheritance.hpp"
#include "process/shm.hpp"
#include "process/wire.hpp"
#include "remote/serve.hpp"

namespace concurrent::futures::detail::process {

namespace {

// How long a sleeping worker waits before checking that its fork server still exists.
constexpr int kOrphanCheckMs = 250;

[[noreturn]] void finish(int status) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  _exit(status);
}

bool apply_inherited(std::string_view state) { return apply_inherited_state(state) && state.empty(); }

// The worker's end of its two rings.
class RingChannel final : public remote::WorkerChannel {
 public:
  RingChannel(SharedRegion& region, int doorbell, pid_t server)
      : region_(region),
        doorbell_(doorbell),
        server_(server),
        reader_(region.request(), kRequestKinds),
        writer_(region.reply()) {}

  // Blocks until a whole request arrives; false if the stream is corrupt.
  bool receive(remote::Kind& kind, std::uint64_t& id, std::string& payload) override {
    RingControl& ring = region_.header()->request;
    FrameReader::Message message;
    message.payload.swap(payload);  // reuse the caller's buffer
    for (;;) {
      const bool had_data = reader_.has_data();
      const auto status = reader_.next(message);
      if (had_data) notify_pool(true);
      if (status == FrameReader::Status::kMessage) {
        kind = message.kind;
        id = message.id;
        payload.swap(message.payload);
        return true;
      }
      if (status == FrameReader::Status::kCorrupt) return false;
      if (spin_until([this] { return reader_.has_data(); })) continue;
      const std::uint32_t bell = ring.data_bell.load(std::memory_order_acquire);
      ring.consumer_sleeping.store(1, std::memory_order_seq_cst);
      if (!reader_.has_data()) shared_futex_wait(ring.data_bell, bell, kOrphanCheckMs);
      ring.consumer_sleeping.store(0, std::memory_order_relaxed);
      check_server();
    }
  }

  // Writes a whole message, waiting for space as needed.
  void send(remote::Kind kind, std::uint64_t id, std::string_view payload) override {
    RingControl& ring = region_.header()->reply;
    FrameWriter::Progress progress;
    for (;;) {
      const auto status = writer_.write(kind, id, payload, progress);
      notify_pool(false);
      if (status == FrameWriter::Status::kDone) return;
      if (status == FrameWriter::Status::kCorrupt) finish(remote::kProtocolErrorExit);
      const std::size_t left = payload.size() - progress.offset;
      const std::uint64_t needed = frame_size(left < kMaxFragment ? left : kMaxFragment);
      if (spin_until([&] { return writer_.free_bytes() >= needed; })) continue;
      const std::uint32_t bell = ring.space_bell.load(std::memory_order_acquire);
      ring.producer_waiting.store(1, std::memory_order_seq_cst);
      if (writer_.free_bytes() < needed) shared_futex_wait(ring.space_bell, bell, kOrphanCheckMs);
      check_server();
    }
  }

 private:
  // An orphan (its fork server, and so its pool, is gone) has nobody to serve.
  void check_server() {
    if (getppid() != server_) finish(0);
  }

  // Rings the pool's doorbell if its manager thread sleeps, after we published a reply or
  // freed request space. Freed space matters only if the pool waits for it (producer_waiting,
  // which we clear: its being clear is what tells a spinning pool that space came free).
  void notify_pool(bool space_freed) noexcept {
    SharedHeader& h = *region_.header();
    if (space_freed && (h.request.producer_waiting.load(std::memory_order_seq_cst) == 0 ||
                        h.request.producer_waiting.exchange(0) == 0)) {
      return;
    }
    if (h.pool_sleeping.load(std::memory_order_seq_cst) != 0 && h.pool_sleeping.exchange(0) != 0) {
      const std::uint64_t one = 1;
      [[maybe_unused]] const auto n = ::write(doorbell_, &one, sizeof one);
    }
  }

  SharedRegion& region_;
  int doorbell_;
  pid_t server_;
  FrameReader reader_;
  FrameWriter writer_;
};

}  // namespace

[[noreturn]] void worker_main(int memfd, int doorbell, pid_t server) {
  SharedRegion region;
  if (!region.attach(memfd)) finish(remote::kProtocolErrorExit);
  region.close_fd();
  RingChannel channel(region, doorbell, server);
  const std::string site = "in worker process " + std::to_string(getpid());
  finish(remote::serve(channel, site, &apply_inherited));
}

}  // namespace concurrent::futures::detail::process
