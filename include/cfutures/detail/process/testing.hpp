// Fault injection for the process pool's own tests. Not part of the public API.
#pragma once

namespace concurrent::futures::detail::process::testing {

// Makes the fork server report the spawn after the next `spawns` ones as failed (as if
// fork() returned EAGAIN); -1 turns it off. Process-wide.
void fail_spawns_after(int spawns) noexcept;

// The early fork server: its pid and the program's end of its control socket; -1 and -1 if
// the process has none, or had one that a new pool found dead (it was reaped then).
struct EarlyForkServer {
  int pid = -1;
  int control = -1;
};
EarlyForkServer early_fork_server() noexcept;

// true: new pools start a fork server of their own even where the early one is usable;
// false (the default): they use the early one. Process-wide.
void bypass_early_fork_server(bool bypass) noexcept;

}  // namespace concurrent::futures::detail::process::testing
