#include "cfutures/detail/remote/remote_executor.hpp"

#include <stdexcept>

#include "remote/remote_pool.hpp"

namespace concurrent::futures::detail::remote {

void RemoteExecutor::schedule(Task task) {
  if (TaskAccess::peek(task)->encoded() == nullptr) {
    task.fail(std::make_exception_ptr(
        std::logic_error("cfutures: a task that was not serialized for another process reached a remote executor")));
    return;
  }
  pool_for_submit().submit(std::move(task));
}

void RemoteExecutor::on_shutdown(bool wait, bool cancel_futures) {
  drain_submits();
  if (RemotePool* pool = started_pool()) pool->shutdown(wait, cancel_futures);
}

}  // namespace concurrent::futures::detail::remote
