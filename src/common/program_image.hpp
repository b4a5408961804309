// The running program's ELF image, as the dynamic loader mapped it: its loaded segments, its
// notes, and its init array. Used by the entry points that run a server instead of main() (the
// process pool's fork server, an MPI worker rank): such an entry is a static initializer that
// completes the program's static initialization itself, then never returns.
//
// Why complete the initialization first: what the server runs must see the program's
// namespace-scope objects initialized, as in any fresh run. When the entry's library is a static
// library (the default) the entry sits in the executable's init array after the program's own
// objects, and the entries after it (later libraries) are run by the entry. When the library is
// a shared library, it is initialized before the executable, so the executable's whole init
// array is run by the entry. Either way nothing runs twice: the entry never returns.
#pragma once

#include <elf.h>
#include <link.h>

#include <cstddef>
#include <string_view>

namespace concurrent::futures::detail::program {

using InitFunction = void (*)(int, char**, char**);

// The main executable's mapping (the first module dl_iterate_phdr reports).
struct MainProgram {
  ElfW(Addr) base = 0;
  const ElfW(Dyn) * dynamic = nullptr;
  const ElfW(Phdr) * headers = nullptr;
  int header_count = 0;

  // True if [address, address + size) lies in one of the program's loaded segments.
  bool contains(ElfW(Addr) address, std::size_t size) const noexcept;
};

MainProgram main_program() noexcept;

// The descriptor of the first ELF note of `type` whose owner is `owner` in the program's PT_NOTE
// segments (e.g. "GNU", NT_GNU_BUILD_ID); empty if there is none.
std::string_view main_program_note(std::string_view owner, ElfW(Word) type) noexcept;

// The main program's init array, and where one entry point sits in it.
struct InitArray {
  InitFunction* functions = nullptr;
  std::size_t count = 0;
  std::size_t after_self = 0;       // the index after the entry's own slot
  bool holds_self = false;          // false: the entry's library is shared (or nothing was found)
  void (*legacy_init)() = nullptr;  // DT_INIT
};

// `self` is the entry point's own function, to find its slot.
InitArray program_init_array(InitFunction self) noexcept;

// Runs what is left of the program's static initialization after the entry of `program`, in a
// process that will then run a server instead of main(). Marks the process as taken over (below)
// first.
void finish_static_initialization(const InitArray& program, int argc, char** argv, char** envp) noexcept;

// True once an entry point took this process over (finish_static_initialization was called in
// it): another entry point run by that initialization must not take it over a second time. A
// process pool's early fork server, forked during static initialization, runs the initializers
// after its entry: an MPI worker entry among them must not turn the fork server into a rank.
bool static_initialization_taken_over() noexcept;

}  // namespace concurrent::futures::detail::program
