// Fault injection and introspection for the process pool's own tests. Compiled into the library
// only when it is built with CFUTURES_TEST_HOOKS=ON (the default where the tests are built);
// nothing here is part of the API, and no message format carries any of it.
#pragma once

#if CFUTURES_TEST_HOOKS

namespace concurrent::futures::detail::process::testing {

// The transport reports the spawn after the next `spawns` ones as failed with EAGAIN, as a fork
// server whose fork() failed does, without asking the server; -1 turns it off. Process-wide.
void fail_spawns_after(int spawns) noexcept;
// Consumes one step of that countdown: true if this spawn is to fail (for the transport).
bool take_spawn_failure() noexcept;

// The early fork server: its pid, the program's end of its control socket and its pidfd; -1
// each if the process has none, or had one that a new pool found dead (it was reaped then).
struct EarlyForkServer {
  int pid = -1;
  int control = -1;
  int pidfd = -1;
};
EarlyForkServer early_fork_server() noexcept;

// true: new pools start a fork server of their own even where the early one is usable;
// false (the default): they use the early one. Process-wide.
void bypass_early_fork_server(bool bypass) noexcept;

}  // namespace concurrent::futures::detail::process::testing

#endif
