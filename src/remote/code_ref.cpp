#include "cfutures/detail/remote/code_ref.hpp"

#include <dlfcn.h>
#include <link.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "hash_bytes.hpp"

namespace concurrent::futures::detail::remote {
namespace {

struct Segment {
  std::uintptr_t begin;
  std::uintptr_t end;
  bool executable;
};

struct Module {
  std::uintptr_t base;
  std::uint32_t name_hash;
  std::vector<Segment> segments;
};

// A snapshot of the loaded modules in the dynamic loader's order (the main program first).
// A worker's list has the same prefix as the pool's: same program, same environment.
class ModuleTable {
 public:
  // Calls fn(const std::vector<Module>&) under the lock, refreshing the snapshot first if
  // `refresh` or if it was never taken.
  template <class Fn>
  auto with_modules(bool refresh, Fn&& fn) {
    std::lock_guard lock(mutex_);
    if (refresh || modules_.empty()) load();
    return fn(modules_);
  }

 private:
  void load() {
    modules_.clear();
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* data) {
          auto& modules = *static_cast<std::vector<Module>*>(data);
          const char* name = info->dlpi_name != nullptr ? info->dlpi_name : "";
          Module module{info->dlpi_addr, hash_bytes(name, std::strlen(name)), {}};
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const auto& ph = info->dlpi_phdr[i];
            if (ph.p_type != PT_LOAD) continue;
            const std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
            module.segments.push_back({begin, begin + ph.p_memsz, (ph.p_flags & PF_X) != 0});
          }
          modules.push_back(std::move(module));
          return 0;
        },
        &modules_);
  }

  std::mutex mutex_;
  std::vector<Module> modules_;
};

ModuleTable& table() {
  static ModuleTable instance;
  return instance;
}

bool find(const std::vector<Module>& modules, std::uintptr_t address, CodeRef& ref) {
  for (std::size_t i = 0; i < modules.size(); ++i) {
    for (const Segment& s : modules[i].segments) {
      if (address >= s.begin && address < s.end) {
        ref = CodeRef{static_cast<std::uint32_t>(i), modules[i].name_hash, address - modules[i].base};
        return true;
      }
    }
  }
  return false;
}

}  // namespace

CodeRef code_ref(const void* address) {
  const auto where = reinterpret_cast<std::uintptr_t>(address);
  thread_local std::uintptr_t last_address = 0;
  thread_local CodeRef last_ref;
  if (where == last_address && where != 0) return last_ref;
  CodeRef ref;
  bool found = table().with_modules(false, [&](const auto& modules) { return find(modules, where, ref); });
  if (!found) found = table().with_modules(true, [&](const auto& modules) { return find(modules, where, ref); });
  if (!found) throw std::runtime_error("cf::ProcessPoolExecutor: the callable is not in a loaded module");
  last_address = where;
  last_ref = ref;
  return ref;
}

const void* resolve_code_ref(const CodeRef& ref, std::size_t size, bool executable) noexcept {
  try {
    return table().with_modules(false, [&](const auto& modules) -> const void* {
      if (ref.module >= modules.size() || modules[ref.module].name_hash != ref.module_hash) return nullptr;
      const Module& module = modules[ref.module];
      const std::uintptr_t address = module.base + ref.offset;
      if (address < module.base) return nullptr;  // wrapped around
      for (const Segment& s : module.segments) {
        if (address >= s.begin && size <= s.end - address && (!executable || s.executable)) {
          return reinterpret_cast<const void*>(address);
        }
      }
      return nullptr;
    });
  } catch (...) {  // allocation failure while loading the table
    return nullptr;
  }
}

const char* describe_code(const void* address, char* buffer, std::size_t size) noexcept {
  Dl_info info{};
  if (dladdr(address, &info) != 0 && info.dli_sname != nullptr) {
    std::snprintf(buffer, size, "%s", info.dli_sname);
  } else if (info.dli_fbase != nullptr) {
    const auto offset = reinterpret_cast<std::uintptr_t>(address) - reinterpret_cast<std::uintptr_t>(info.dli_fbase);
    std::snprintf(buffer, size, "%s+0x%" PRIxPTR, info.dli_fname != nullptr ? info.dli_fname : "?", offset);
  } else {
    std::snprintf(buffer, size, "%p", address);
  }
  return buffer;
}

}  // namespace concurrent::futures::detail::remote
