// Leak accounting for every test: open file descriptors, threads and child processes are
// counted before each test and must be back to that count after it (cf. CPython's
// threading_helper / reap_children). Installed by test_main.cpp for every test binary.
#pragma once

#include <chrono>
#include <cstddef>
#include <set>
#include <string>
#include <sys/types.h>

namespace cftest {

struct ResourceCounts {
  std::size_t fds = 0;
  std::size_t threads = 0;
  std::set<pid_t> children;  // live or zombie children of this process
  std::string describe() const;
};

ResourceCounts count_resources();

// Waits up to `grace` for the counts to fall back to `before` (threads and processes that were
// told to exit may take a moment to be reaped by the OS); returns the last counts seen.
ResourceCounts settle(const ResourceCounts& before, std::chrono::milliseconds grace);

bool same(const ResourceCounts& a, const ResourceCounts& b);

}  // namespace cftest
