#include "remote/job.hpp"

#include "cfutures/detail/remote/messages.hpp"
#include "cfutures/errors.hpp"

namespace concurrent::futures::detail::remote {

Job::~Job() {
  if (!task_->cancel()) {
    task_->fail(std::make_exception_ptr(BrokenExecutor("the call was dropped by its pool without a reply")));
  }
  task_->release();
}

bool Job::start() noexcept {
  try {
    return state().set_running_or_notify_cancel();
  } catch (const InvalidStateError&) {  // completed directly through set_result
    return false;
  }
}

void Job::complete(std::string_view reply) {
  EncodedCall& encoded = call();
  ReplyReader reader(reply);
  encoded.complete(state(), encoded, reader);
  if (!reader.at_end()) throw MalformedMessage("it sent a reply longer than its outcomes");
}

}  // namespace concurrent::futures::detail::remote
