// Leak accounting for every test: open file descriptors, threads and child processes are
// counted before each test and must be back to that count after it (cf. CPython's
// threading_helper / reap_children). Installed by test_main.cpp for every test binary, and
// tests/CMakeLists.txt refuses a test executable that does not link it.
//
// A failure names what leaked, so it can be traced without a debugger:
//   resource leak in Pool.Shutdown: 1 file descriptor opened and not closed: fd 7 -> pipe:[81234];
//   2 threads started and not ended: tid 4242 "ThreadPoolExec_0", tid 4243 "ThreadPoolExec_1"
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <set>
#include <string>

namespace cftest {

struct ResourceCounts {
  std::size_t fds = 0;       // open file descriptors of this process
  std::size_t threads = 0;   // threads of this process, the calling one included
  std::set<pid_t> children;  // live or zombie descendants of this process (children, their
                             // children...), except the early fork server itself

  // Details for messages, filled by count_resources().
  std::map<int, std::string> fd_targets;       // fd -> its /proc/self/fd link ("pipe:[123]", a path)
  std::map<pid_t, std::string> thread_names;   // tid -> /proc/self/task/<tid>/comm
  std::map<pid_t, std::string> child_details;  // pid -> "name" state=S (from /proc/<pid>/stat)

  // "12 fds, 3 threads, 1 child processes (pid 77 "worker" state=Z)".
  std::string describe() const;
};

ResourceCounts count_resources();

// What /proc/<pid>/stat says of a process; state '?' if it is gone.
struct ProcessStat {
  std::string name;  // the command name (15 characters at most)
  char state = '?';  // R, S, D, Z...
  pid_t parent = 0;
};
ProcessStat process_stat(pid_t pid);

// The children of `pid` (of every thread), from /proc/<pid>/task/<tid>/children.
std::set<pid_t> children_of(pid_t pid);

// Waits up to `grace` for the counts to fall back to `before` (threads and processes that were
// told to exit may take a moment to be reaped by the OS); returns the last counts seen.
ResourceCounts settle(const ResourceCounts& before, std::chrono::milliseconds grace);

// True if `b` holds as many fds and threads as `a`, and the same children.
bool same(const ResourceCounts& a, const ResourceCounts& b);

// What changed from `before` to `after`, precisely: the fds opened and closed (with their
// targets), the threads started and ended (with their names), the children that appeared or
// went. Empty if nothing changed.
std::string describe_difference(const ResourceCounts& before, const ResourceCounts& after);

}  // namespace cftest
