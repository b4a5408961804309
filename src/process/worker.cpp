#include "worker.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include "cfutures/detail/futex.hpp"
#include "cfutures/detail/process/call.hpp"
#include "cfutures/detail/process/codec.hpp"
#include "cfutures/detail/process/exception_record.hpp"
#include "cfutures/detail/process/wire.hpp"
#include "cfutures/detail/state.hpp"
#include "inheritance.hpp"
#include "shm.hpp"

namespace concurrent::futures::detail::process {

void TaskIo::fail(Phase phase, const char* callable, std::exception_ptr error) noexcept {
  if (failed_) return;
  failed_ = true;
  phase_ = phase;
  callable_ = callable;
  error_ = std::move(error);
}

namespace {

// How long a sleeping worker waits before checking that its fork server still exists.
constexpr int kOrphanCheckMs = 250;
// Message buffers up to this size are kept for the next message instead of freed.
constexpr std::size_t kKeptBuffer = 1 << 20;

[[noreturn]] void finish(int status) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  _exit(status);
}

std::string callable_name(const char* mangled) {
  return mangled != nullptr ? demangle(mangled) : std::string("the function");
}

class Worker {
 public:
  Worker(SharedRegion region, int doorbell, pid_t server)
      : region_(std::move(region)),
        doorbell_(doorbell),
        server_(server),
        reader_(region_.request(), kRequestKinds),
        writer_(region_.reply()) {}

  [[noreturn]] void run() {
    FrameReader::Message message;
    if (!next_message(message) || message.kind != Kind::kInit) finish(kProtocolErrorExit);
    std::string_view init = message.payload;
    std::uint32_t max_tasks = 0;
    std::uint32_t has_initializer = 0;
    if (!apply_inherited_state(init) || !get_raw(init, max_tasks) || !get_raw(init, has_initializer)) {
      finish(kProtocolErrorExit);
    }
    if (has_initializer != 0) run_initializer(init);

    std::uint64_t done = 0;
    for (;;) {
      if (!next_message(message)) finish(kProtocolErrorExit);
      switch (message.kind) {
        case Kind::kQuit:
          finish(0);
        case Kind::kCall:
          run_call(message.payload);
          if (message.payload.capacity() > kKeptBuffer) message.payload = std::string();  // free big arguments now
          send(Kind::kReply, message.id, reply_);
          if (max_tasks != 0 && ++done >= max_tasks) finish(0);
          break;
        default:
          finish(kProtocolErrorExit);
      }
    }
  }

 private:
  [[noreturn]] void orphaned() { finish(0); }

  void check_server() {
    if (getppid() != server_) orphaned();
  }

  // Rings the pool's doorbell if its reply thread sleeps, after we published a reply or freed
  // request space. Freed space matters only if the pool waits for it (producer_waiting, which
  // we clear: its being clear is what tells a spinning pool that space came free).
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

  // Blocks until a whole request arrives; false if the stream is corrupt.
  bool next_message(FrameReader::Message& message) {
    RingControl& ring = region_.header()->request;
    for (;;) {
      const bool had_data = reader_.has_data();
      const auto status = reader_.next(message);
      if (had_data) notify_pool(true);
      if (status == FrameReader::Status::kMessage) return true;
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
  void send(Kind kind, std::uint64_t id, std::string_view payload) {
    RingControl& ring = region_.header()->reply;
    FrameWriter::Progress progress;
    for (;;) {
      const auto status = writer_.write(kind, id, payload, progress);
      notify_pool(false);
      if (status == FrameWriter::Status::kDone) return;
      if (status == FrameWriter::Status::kCorrupt) finish(kProtocolErrorExit);
      const std::size_t left = payload.size() - progress.offset;
      const std::uint64_t needed = frame_size(left < kMaxFragment ? left : kMaxFragment);
      if (spin_until([&] { return writer_.free_bytes() >= needed; })) continue;
      const std::uint32_t bell = ring.space_bell.load(std::memory_order_acquire);
      ring.producer_waiting.store(1, std::memory_order_seq_cst);
      if (writer_.free_bytes() < needed) shared_futex_wait(ring.space_bell, bell, kOrphanCheckMs);
      check_server();
    }
  }

  // Runs one kCall payload; leaves the reply payload in reply_. Returns false on failure.
  bool run_call(std::string_view payload) {
    reply_.clear();
    reply_.push_back(static_cast<char>(kValues));
    CallHeader header;
    if (!get_raw(payload, header)) finish(kProtocolErrorExit);
    const auto* info = static_cast<const InvokerInfo*>(resolve_code_ref(header.invoker, sizeof(InvokerInfo), false));
    const void* target = header.has_target != 0 ? resolve_code_ref(header.target, 1, true) : nullptr;
    if (info == nullptr || reinterpret_cast<std::uintptr_t>(info) % alignof(InvokerInfo) != 0 ||
        info->magic != kInvokerMagic || info->type_hash != header.type_hash ||
        (header.has_target != 0 && target == nullptr)) {
      fail(SerializationError(
          "cf::ProcessPoolExecutor: the worker could not find the function to call (is it in a library "
          "loaded with dlopen() after the program started?)"));
      return false;
    }
    Decoder in(payload);
    Encoder out(reply_);
    TaskIo io(reinterpret_cast<std::uintptr_t>(target), header.count, in, out);
    info->run(io);
    if (!io.failed()) return true;

    const std::string name = callable_name(io.failed_callable());
    switch (io.failed_phase()) {
      case TaskIo::Phase::kDecodeArguments:
        fail(SerializationError("could not deserialize the arguments of a call to " + name +
                                " in the worker: " + describe(io.error())));
        break;
      case TaskIo::Phase::kEncodeResult:
        fail(SerializationError("could not serialize the result of " + name +
                                " in the worker: " + describe(io.error())));
        break;
      case TaskIo::Phase::kCall:
        fail_with(io.error(), target, name);
        break;
    }
    return false;
  }

  static std::string describe(const std::exception_ptr& error) {
    const ExceptionRecord record = capture_exception(error, {});
    return (record.type.empty() ? std::string("unknown") : demangle(record.type.c_str())) + ": " + record.what;
  }

  template <class E>
  void fail(const E& error) {
    fail_with(std::make_exception_ptr(error), nullptr, {});
  }

  void fail_with(const std::exception_ptr& error, const void* target, const std::string& name) {
    std::string site = "in worker process " + std::to_string(getpid());
    if (target != nullptr) {
      char buffer[256];
      site += ", calling " + std::string(describe_code(target, buffer, sizeof buffer));
    } else if (!name.empty()) {
      site += ", calling " + name;
    }
    reply_.clear();
    reply_.push_back(static_cast<char>(kError));
    encode_exception(capture_exception(error, std::move(site)), reply_);
  }

  void run_initializer(std::string_view call) {
    if (run_call(call)) return;
    ExceptionRecord record;
    std::string_view rest(reply_);
    rest.remove_prefix(1);
    if (decode_exception(rest, record)) {
      std::fprintf(stderr, "Exception in initializer:\n%s: %s\n",
                   record.type.empty() ? "unknown" : demangle(record.type.c_str()).c_str(), record.what.c_str());
      std::string payload;
      encode_exception(record, payload);
      send(Kind::kInitFailed, 0, payload);
    }
    finish(kInitializerFailedExit);
  }

  SharedRegion region_;
  int doorbell_;
  pid_t server_;
  FrameReader reader_;
  FrameWriter writer_;
  std::string reply_;
};

}  // namespace

[[noreturn]] void worker_main(int memfd, int doorbell, pid_t server) {
  SharedRegion region;
  if (!region.attach(memfd)) finish(kProtocolErrorExit);
  region.close_fd();
  Worker worker(std::move(region), doorbell, server);
  worker.run();
}

}  // namespace concurrent::futures::detail::process
