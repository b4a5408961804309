#include "program_image.hpp"

#include <cstdint>
#include <cstring>

namespace concurrent::futures::detail::program {
namespace {

bool taken_over = false;  // written during static initialization only (one thread)

}  // namespace

bool MainProgram::contains(ElfW(Addr) address, std::size_t size) const noexcept {
  for (int i = 0; i < header_count; ++i) {
    const ElfW(Phdr)& h = headers[i];
    const ElfW(Addr) begin = base + h.p_vaddr;
    if (h.p_type == PT_LOAD && address >= begin && size <= h.p_memsz && address - begin <= h.p_memsz - size) {
      return true;
    }
  }
  return false;
}

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

std::string_view main_program_note(std::string_view owner, ElfW(Word) type) noexcept {
  const MainProgram program = main_program();
  const auto align4 = [](std::size_t n) { return (n + 3) & ~std::size_t{3}; };
  for (int i = 0; i < program.header_count; ++i) {
    const ElfW(Phdr)& h = program.headers[i];
    if (h.p_type != PT_NOTE || !program.contains(program.base + h.p_vaddr, h.p_memsz)) continue;
    const auto* at = reinterpret_cast<const char*>(program.base + h.p_vaddr);
    std::size_t left = h.p_memsz;
    while (left >= sizeof(ElfW(Nhdr))) {
      ElfW(Nhdr) note;
      std::memcpy(&note, at, sizeof note);
      const std::size_t size = sizeof note + align4(note.n_namesz) + align4(note.n_descsz);
      if (size > left) break;  // a malformed note: stop reading this segment
      const char* name = at + sizeof note;
      // n_namesz counts the owner's terminating NUL.
      if (note.n_type == type && note.n_namesz == owner.size() + 1 && std::string_view(name, owner.size()) == owner) {
        return std::string_view(name + align4(note.n_namesz), note.n_descsz);
      }
      at += size;
      left -= size;
    }
  }
  return {};
}

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

void finish_static_initialization(const InitArray& program, int argc, char** argv, char** envp) noexcept {
  taken_over = true;
  if (!program.holds_self && program.legacy_init != nullptr) program.legacy_init();  // a shared library
  for (std::size_t i = program.after_self; i < program.count; ++i) {
    const auto value = reinterpret_cast<std::uintptr_t>(program.functions[i]);
    if (value != 0 && value != ~std::uintptr_t{0}) program.functions[i](argc, argv, envp);
  }
}

bool static_initialization_taken_over() noexcept { return taken_over; }

}  // namespace concurrent::futures::detail::program
