// The fork server's entry point: a static initializer that, in a program re-executed by a
// process pool (kForkServerVariable set), completes the program's static initialization and
// then runs the fork server instead of main(). In any other run it forks the early fork server
// (forkserver.hpp), which does the same, and returns.
//
// Why complete the initialization first: the workers forked from the server must see the
// program's namespace-scope objects initialized, as in any fresh run. When libcfutures is a
// static library (the default) this initializer sits in the executable's init array after
// the program's own objects, and the entries after it (later libraries) are run here. When
// libcfutures is a shared library, it is initialized before the executable, so the
// executable's whole init array is run here. Either way, nothing runs twice: this function
// never returns in the server.
#include <elf.h>
#include <link.h>
#include <sys/prctl.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "process/forkserver.hpp"
#include "process/forkserver_client.hpp"

namespace concurrent::futures::detail::process {
namespace {

using InitFunction = void (*)(int, char**, char**);

struct MainProgram {
  ElfW(Addr) base = 0;
  const ElfW(Dyn) * dynamic = nullptr;
  const ElfW(Phdr) * headers = nullptr;
  int header_count = 0;

  // True if [address, address + size) lies in one of the program's loaded segments.
  bool contains(ElfW(Addr) address, std::size_t size) const noexcept {
    for (int i = 0; i < header_count; ++i) {
      const ElfW(Phdr)& h = headers[i];
      const ElfW(Addr) begin = base + h.p_vaddr;
      if (h.p_type == PT_LOAD && address >= begin && size <= h.p_memsz && address - begin <= h.p_memsz - size) {
        return true;
      }
    }
    return false;
  }
};

MainProgram main_program() noexcept {
  MainProgram program;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto& out = *static_cast<MainProgram*>(data);
        out.base = info->dlpi_addr;
        out.headers = info->dlpi_phdr;
        out.header_count = info->dlpi_phnum;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) {
            out.dynamic = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
          }
        }
        return 1;  // the first module is the main program
      },
      &program);
  return program;
}

// The main program's init array, and where this library's entry sits in it.
struct InitArray {
  InitFunction* functions = nullptr;
  std::size_t count = 0;
  std::size_t after_self = 0;       // the index after the entry's own slot
  bool holds_self = false;          // false: libcfutures is a shared library (or nothing was found)
  void (*legacy_init)() = nullptr;  // DT_INIT
};

InitArray program_init_array(InitFunction self) noexcept {
  InitArray out;
  const MainProgram program = main_program();
  if (program.dynamic == nullptr) return out;  // a static executable: nothing we can find
  ElfW(Addr) init = 0;
  ElfW(Addr) array = 0;
  std::size_t array_bytes = 0;
  for (const ElfW(Dyn)* d = program.dynamic; d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == DT_INIT) init = d->d_un.d_ptr;
    if (d->d_tag == DT_INIT_ARRAY) array = d->d_un.d_ptr;
    if (d->d_tag == DT_INIT_ARRAYSZ) array_bytes = d->d_un.d_val;
  }
  if (array == 0 || !program.contains(program.base + array, array_bytes)) return out;
  out.functions = reinterpret_cast<InitFunction*>(program.base + array);
  out.count = array_bytes / sizeof(InitFunction);
  for (std::size_t i = 0; i < out.count; ++i) {
    if (out.functions[i] == self) {
      out.holds_self = true;
      out.after_self = i + 1;
    }
  }
  if (init != 0 && program.contains(program.base + init, 1)) {
    out.legacy_init = reinterpret_cast<void (*)()>(program.base + init);
  }
  return out;
}

// Runs what is left of the program's static initialization, in the server only.
void finish_static_initialization(const InitArray& program, int argc, char** argv, char** envp) noexcept {
  if (!program.holds_self && program.legacy_init != nullptr) program.legacy_init();  // a shared libcfutures
  for (std::size_t i = program.after_self; i < program.count; ++i) {
    const auto value = reinterpret_cast<std::uintptr_t>(program.functions[i]);
    if (value != 0 && value != ~std::uintptr_t{0}) program.functions[i](argc, argv, envp);
  }
}

__attribute__((constructor)) void cfutures_fork_server_entry(int argc, char** argv, char** envp) {
  const InitArray program = program_init_array(&cfutures_fork_server_entry);
  if (const char* fd = std::getenv(kForkServerVariable)) {  // a pool's own server, re-executed
    const int channel = std::atoi(fd);
    unsetenv(kForkServerVariable);              // not for the workers' own children
    if (argc > 0) prctl(PR_SET_NAME, argv[0]);  // the program's name (not "exe"), for the workers
    finish_static_initialization(program, argc, argv, envp);
    fork_server_main(-1, channel);
  }
  // The early server only where libcfutures is linked into the executable: there this object
  // is linked only if the program uses a process pool. A shared libcfutures would start one
  // in every program that links it.
  if (!program.holds_self) return;
  const int control = fork_early_server();
  if (control < 0) return;  // the program, or no early server
  finish_static_initialization(program, argc, argv, envp);
  fork_server_main(control, -1);
}

}  // namespace

bool fork_server_entry_linked() noexcept { return true; }

}  // namespace concurrent::futures::detail::process
