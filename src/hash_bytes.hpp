// A fast non-cryptographic 32-bit hash (8 bytes per step), for checks against corruption: the
// frames of the process pool's rings, the module names of code references. It is no defence
// against a deliberate forger (workers are the pool's own children).
#pragma once

#include <cstddef>
#include <cstdint>

namespace concurrent::futures::detail {

std::uint32_t hash_bytes(const void* data, std::size_t size) noexcept;

}  // namespace concurrent::futures::detail
