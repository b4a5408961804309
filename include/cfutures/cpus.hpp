// cf::usable_cpu_count(): how many CPUs this process may run on, which sizes the default pools.
//
//   cf::ProcessPoolExecutor pool;                       // usable_cpu_count() workers
//   std::size_t threads = cf::usable_cpu_count() + 4;   // the thread pool's default, up to 32
#pragma once

#include <cstddef>

namespace concurrent::futures {

// The number of CPUs in this process's affinity mask (sched_getaffinity; a taskset or cgroup
// cpuset narrows it), at least 1. Python's os.process_cpu_count().
std::size_t usable_cpu_count() noexcept;

}  // namespace concurrent::futures
