// Heap allocations counted by a replaced global operator new (alloc_count.cpp, linked into
// the benchmark programs that report allocations per item). Kept in its own translation unit
// so that no caller sees the replacement inline.
#pragma once

namespace bench {

long allocations_so_far() noexcept;  // calls of operator new since the program started
long bytes_allocated_so_far() noexcept;

}  // namespace bench
