// Fault injection for the process pool's own tests. Not part of the public API.
#pragma once

namespace concurrent::futures::detail::process::testing {

// Makes the fork server report the spawn after the next `spawns` ones as failed (as if
// fork() returned EAGAIN); -1 turns it off. Process-wide.
void fail_spawns_after(int spawns) noexcept;

}  // namespace concurrent::futures::detail::process::testing
