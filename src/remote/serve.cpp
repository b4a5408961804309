#include "remote/serve.hpp"

#include <cstdint>
#include <exception>
#include <string>

#include "cfutures/detail/remote/call.hpp"
#include "pool_support.hpp"

namespace concurrent::futures::detail::remote {

namespace {

// Message buffers up to this size are kept for the next message instead of freed.
constexpr std::size_t kKeptBuffer = 1 << 20;

class Server {
 public:
  Server(WorkerChannel& channel, std::string_view site) : channel_(channel), site_(site) {}

  int run(ApplyInherited apply_inherited) {
    Kind kind{};
    std::uint64_t id = 0;
    InitMessage init;
    if (!channel_.receive(kind, id, message_) || kind != Kind::kInit || !decode_init(message_, init)) {
      return kProtocolErrorExit;
    }
    if (!init.inherited.empty() && !apply_inherited(init.inherited)) return kProtocolErrorExit;
    if (!init.initializer.empty() && !run_initializer(init.initializer)) return kInitializerFailedExit;
    for (std::uint64_t done = 0;;) {
      if (!channel_.receive(kind, id, message_)) return kProtocolErrorExit;
      if (kind == Kind::kQuit) return 0;
      if (kind != Kind::kCall || !run_call(message_)) return kProtocolErrorExit;
      if (message_.capacity() > kKeptBuffer) message_ = std::string();  // free big arguments now
      channel_.send(Kind::kReply, id, reply_);
      if (init.max_calls != 0 && ++done >= init.max_calls) return 0;
    }
  }

 private:
  // Runs one kCall payload, leaving its outcomes in reply_; false if the payload is malformed.
  bool run_call(std::string_view payload) {
    reply_.clear();
    failures_ = 0;
    first_failure_ = nullptr;
    CallHeader header;
    if (!decode_call_header(payload, header)) return false;
    const auto* info = static_cast<const InvokerInfo*>(resolve_code_ref(header.invoker, sizeof(InvokerInfo), false));
    const void* target = header.has_target != 0 ? resolve_code_ref(header.target, 1, true) : nullptr;
    ReplyWriter writer(reply_);
    if (info == nullptr || reinterpret_cast<std::uintptr_t>(info) % alignof(InvokerInfo) != 0 ||
        info->magic != kInvokerMagic || info->type_hash != header.type_hash ||
        (header.has_target != 0 && target == nullptr)) {
      first_failure_ = std::make_exception_ptr(SerializationError(
          "the worker could not find the function to call (is it in a library loaded with dlopen() after the "
          "program started, or does the worker run another build of the program?)"));
      failures_ = header.count;
      for (std::uint32_t i = 0; i < header.count; ++i) writer.put_error(first_failure_, site_);
      return true;
    }
    Decoder in(payload);
    CallContext io(reinterpret_cast<std::uintptr_t>(target), header.count, in, writer, site_);
    info->run(io);
    failures_ = io.failures();
    first_failure_ = io.first_failure();
    return true;
  }

  // Runs the initializer; false (after telling the pool) if it failed.
  bool run_initializer(std::string_view call) {
    if (!run_call(call)) return false;
    if (failures_ == 0) return true;
    report_initializer_error(describe_exception(first_failure_));
    std::string payload;
    encode_init_failed(first_failure_, site_, payload);
    channel_.send(Kind::kInitFailed, 0, payload);
    return false;
  }

  WorkerChannel& channel_;
  std::string_view site_;
  std::string message_;
  std::string reply_;
  std::uint32_t failures_ = 0;
  std::exception_ptr first_failure_;
};

}  // namespace

int serve(WorkerChannel& channel, std::string_view site, ApplyInherited apply_inherited) {
  return Server(channel, site).run(apply_inherited);
}

}  // namespace concurrent::futures::detail::remote
