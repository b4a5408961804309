// What a worker inherits from the program, whichever fork server forked it.
//
// A worker is a fork of its fork server, and the early server (forkserver.hpp) was forked during
// static initialization: left alone, its workers would run with the program's state of that
// moment, not of the pool's creation. So the pool captures the state a freshly executed program
// would inherit when the pool is created, sends it in each worker's first message, and the worker
// applies it before the initializer runs:
//
//   environment, working directory, umask, ignored signals (the rest back to their default, as
//   exec does), resource limits, nice value
//
// What a worker cannot be given (it could only drop to it, or not at all) is checked instead:
// the early server is used only while the program's credentials, capabilities, no_new_privs,
// seccomp mode, root directory, namespaces and cgroup are still those it was forked with; a pool
// created after any of them changed starts a fork server of its own (security_fingerprint()).
#pragma once

#include <string>
#include <string_view>

namespace concurrent::futures::detail::process {

// Appends the program's inheritable state to `out`.
void capture_inherited_state(std::string& out);

// Reads what capture_inherited_state wrote from the front of `in` and applies it to this process
// (best effort where the kernel refuses, as for a limit above the hard one). False if malformed.
bool apply_inherited_state(std::string_view& in);

// The process's security-relevant state that a fork cannot change back, as one comparable text.
std::string security_fingerprint();

}  // namespace concurrent::futures::detail::process
