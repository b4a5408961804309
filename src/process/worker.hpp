// A worker process of the process pool: its end of the shared-memory rings, serving calls
// (remote/serve.hpp) until it is told to quit, reaches its maximum number of calls, or finds
// its fork server gone.
#pragma once

#include <sys/types.h>

namespace concurrent::futures::detail::process {

// Runs a worker on the shared region in `memfd`, ringing `doorbell` (an eventfd) when the
// pool sleeps; `server` is the fork server, its parent. Never returns.
[[noreturn]] void worker_main(int memfd, int doorbell, pid_t server);

}  // namespace concurrent::futures::detail::process
