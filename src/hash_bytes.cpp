#include "hash_bytes.hpp"

#include <cstring>

namespace concurrent::futures::detail {

std::uint32_t hash_bytes(const void* data, std::size_t size) noexcept {
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ size;
  while (size >= 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes, 8);
    h = (h ^ word) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    bytes += 8;
    size -= 8;
  }
  std::uint64_t last = 0;
  if (size != 0) std::memcpy(&last, bytes, size);
  h = (h ^ last) * 0x94D049BB133111EBull;
  h ^= h >> 29;
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

}  // namespace concurrent::futures::detail
