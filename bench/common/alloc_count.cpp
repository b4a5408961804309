#include "alloc_count.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<long> g_allocations{0};
std::atomic<long> g_bytes{0};
}  // namespace

namespace bench {
long allocations_so_far() noexcept { return g_allocations.load(std::memory_order_relaxed); }
long bytes_allocated_so_far() noexcept { return g_bytes.load(std::memory_order_relaxed); }
}  // namespace bench

// Every operator new of the program (arrays and coroutine frames included) comes here.
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(static_cast<long>(size), std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
