#include "build_id.hpp"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "common/program_image.hpp"

namespace concurrent::futures::detail::mpi {
namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string compute_identity() {
  const std::string_view note = program::main_program_note("GNU", NT_GNU_BUILD_ID);
  if (!note.empty()) return "gnu-build-id:" + hex(note);
  return file_identity("/proc/self/exe");
}

}  // namespace

const std::string& build_identity() {
  static const std::string identity = compute_identity();
  return identity;
}

std::string file_identity(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cfutures::mpi: cannot read " + path + " to identify the program's build");
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a, 64 bits
  std::uint64_t size = 0;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    const auto n = static_cast<std::size_t>(in.gcount());
    for (std::size_t i = 0; i < n; ++i) {
      hash ^= static_cast<unsigned char>(buffer[i]);
      hash *= 0x100000001b3ULL;
    }
    size += n;
  }
  char text[64];
  std::snprintf(text, sizeof text, "exe-fnv1a64:%016llx:%llu", static_cast<unsigned long long>(hash),
                static_cast<unsigned long long>(size));
  return text;
}

std::string different_build_message(int rank, std::string_view host, std::string_view theirs, std::string_view ours) {
  return "cfutures::mpi: worker rank " + std::to_string(rank) + " on " + std::string(host) +
         " runs a different build of the program (its build is " + std::string(theirs) + ", this process's is " +
         std::string(ours) + "): every rank must run the same executable, so copy this build to every host";
}

}  // namespace concurrent::futures::detail::mpi
