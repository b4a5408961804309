// Naming code across processes: a worker runs the same program, but not necessarily at the same
// addresses (a fork server of the pool's own is a fresh exec, and an MPI rank on another host is
// another run: with ASLR their modules load elsewhere). An address crosses as (module index in
// the dynamic loader's list, a hash of the module's name, offset from the module's base); the
// worker finds its own module with that index, checks the name hash, adds its base, and checks
// that the result lies inside one of the module's loaded segments.
#pragma once

#include <cstddef>
#include <cstdint>

namespace concurrent::futures::detail::remote {

struct CodeRef {
  std::uint32_t module = 0;
  std::uint32_t module_hash = 0;
  std::uint64_t offset = 0;
};

// The reference to `address`, which must lie in a module loaded in this process. Throws
// std::runtime_error otherwise.
CodeRef code_ref(const void* address);

// The address `ref` names in this process, if it lies within a loaded segment of that module
// for `size` bytes (and, with `executable`, an executable one); nullptr otherwise.
const void* resolve_code_ref(const CodeRef& ref, std::size_t size, bool executable) noexcept;

// A symbolic description of a code address ("name+0x1f in /path/lib.so"), for messages.
// Best effort: symbols not in the dynamic symbol table show as module+offset.
const char* describe_code(const void* address, char* buffer, std::size_t size) noexcept;

}  // namespace concurrent::futures::detail::remote
