// The worker process: reads calls from its request ring, runs them, writes replies.
#pragma once

#include <sys/types.h>

namespace concurrent::futures::detail::process {

// Exit statuses a worker uses for its own reasons (the pool reports them as "exit code N").
inline constexpr int kInitializerFailedExit = 1;
inline constexpr int kProtocolErrorExit = 70;  // EX_SOFTWARE: a bad region or message

// Runs a worker on the shared region in `memfd`, ringing `doorbell` (an eventfd) when the
// pool sleeps. Exits when told to, after max_tasks_per_child calls, or when `server` (the
// fork server, its parent) is gone.
[[noreturn]] void worker_main(int memfd, int doorbell, pid_t server);

}  // namespace concurrent::futures::detail::process
