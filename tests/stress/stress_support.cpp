#include "stress_support.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

namespace cfstress {

std::uint64_t base_seed(std::uint64_t fallback) {
  if (const char* s = std::getenv("CFUTURES_STRESS_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 0);
  }
  return fallback;
}

bool run_known_bugs() {
  const char* s = std::getenv("CFUTURES_STRESS_KNOWN_BUGS");
  return s != nullptr && *s != '\0' && *s != '0';
}

double sanitizer_scale() {
  double scale =
#if defined(CFTEST_TSAN)
      1.0 / 3;
#elif defined(CFTEST_ASAN)
      1.0 / 2;
#else
      1.0;
#endif
  if (const char* s = std::getenv("CFUTURES_STRESS_SCALE"); s != nullptr && *s != '\0') {
    scale *= std::strtod(s, nullptr);
  }
  return scale;
}

int scaled(int n, int minimum) { return std::max(minimum, static_cast<int>(std::lround(n * sanitizer_scale()))); }

namespace {

std::atomic<std::uint32_t>* map_counters(int fd, std::size_t count) {
  void* p = mmap(nullptr, count * sizeof(std::uint32_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap of the shared counters");
  return static_cast<std::atomic<std::uint32_t>*>(p);
}

}  // namespace

// A memfd, reached by other processes as /proc/<pid>/fd/<fd>: nothing in the file system can
// be left behind, even by a test that crashes or is killed by its watchdog.
SharedCounters::SharedCounters(std::size_t count) : count_(count) {
  fd_ = memfd_create("cfstress-counters", MFD_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
  if (ftruncate(fd_, static_cast<off_t>(count * sizeof(std::uint32_t))) != 0) {
    const int e = errno;
    ::close(fd_);
    throw std::system_error(e, std::generic_category(), "sizing the shared counters");
  }
  counters_ = map_counters(fd_, count);
  path_ = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd_);
}

SharedCounters::~SharedCounters() {
  munmap(counters_, count_ * sizeof(std::uint32_t));
  ::close(fd_);
}

std::atomic<std::uint32_t>& counter_in(const std::string& path, std::size_t i) {
  // Keyed by the memfd's inode too: a descriptor number (so a path) may be reused for another
  // SharedCounters while this process still maps the first one.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::system_error(errno, std::generic_category(), "stat " + path);
  static std::mutex mutex;
  static std::unordered_map<std::string, std::atomic<std::uint32_t>*> mapped;
  std::lock_guard lock(mutex);
  auto& slot = mapped[path + "@" + std::to_string(st.st_ino)];
  if (slot == nullptr) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "opening " + path);
    slot = map_counters(fd, static_cast<std::size_t>(st.st_size) / sizeof(std::uint32_t));
    ::close(fd);
  }
  return slot[i];
}

std::size_t rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string reproduction_line(std::uint64_t seed) {
  std::ostringstream out;
  out << "reproduce with CFUTURES_STRESS_SEED=0x" << std::hex << seed << std::dec << " (sanitizer=" << kSanitizer
      << ", scale=" << sanitizer_scale() << ")";
  return out.str();
}

}  // namespace cfstress
