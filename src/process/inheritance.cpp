#include "process/inheritance.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "cfutures/detail/remote/codec.hpp"

extern char** environ;

namespace concurrent::futures::detail::process {

using remote::get_raw;
using remote::get_string;
using remote::put_raw;
using remote::put_string;

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

void capture_inherited_state(std::string& out) {
  std::uint32_t count = 0;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) ++count;
  put_raw(out, count);
  for (std::uint32_t i = 0; i < count; ++i) put_string(out, environ[i]);

  std::string cwd(256, '\0');
  while (getcwd(cwd.data(), cwd.size()) == nullptr && errno == ERANGE) cwd.resize(cwd.size() * 2);
  cwd.resize(cwd[0] == '/' ? std::char_traits<char>::length(cwd.c_str()) : 0);  // "": none (deleted)
  put_string(out, cwd);

  const mode_t mask = umask(0);
  umask(mask);
  put_raw(out, static_cast<std::uint32_t>(mask));

  std::uint64_t ignored = 0;
  for (int s = 1; s < 64 && s < NSIG; ++s) {
    struct sigaction action {};
    if (sigaction(s, nullptr, &action) == 0 && action.sa_handler == SIG_IGN) ignored |= std::uint64_t{1} << s;
  }
  put_raw(out, ignored);

  put_raw(out, static_cast<std::uint32_t>(RLIMIT_NLIMITS));
  for (int r = 0; r < RLIMIT_NLIMITS; ++r) {
    rlimit limit{RLIM_INFINITY, RLIM_INFINITY};
    getrlimit(static_cast<__rlimit_resource>(r), &limit);
    put_raw(out, static_cast<std::uint64_t>(limit.rlim_cur));
    put_raw(out, static_cast<std::uint64_t>(limit.rlim_max));
  }

  put_raw(out, static_cast<std::int32_t>(getpriority(PRIO_PROCESS, 0)));
}

bool apply_inherited_state(std::string_view& in) {
  std::uint32_t count = 0;
  if (!get_raw(in, count)) return false;
  clearenv();
  std::string entry;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!get_string(in, entry)) return false;
    const auto equals = entry.find('=');
    if (equals != std::string::npos) setenv(entry.substr(0, equals).c_str(), entry.c_str() + equals + 1, 1);
  }

  std::string cwd;
  if (!get_string(in, cwd)) return false;
  if (!cwd.empty()) (void)!chdir(cwd.c_str());

  std::uint32_t mask = 0;
  if (!get_raw(in, mask)) return false;
  umask(static_cast<mode_t>(mask));

  // As exec does: what the program ignores stays ignored; handlers are the ones static
  // initialization installed here (a sanitizer's, say), the rest default.
  std::uint64_t ignored = 0;
  if (!get_raw(in, ignored)) return false;
  for (int s = 1; s < 64 && s < NSIG; ++s) {
    struct sigaction now {};
    if (s == SIGKILL || s == SIGSTOP || sigaction(s, nullptr, &now) != 0) continue;
    const bool ignore = (ignored >> s & 1) != 0;
    if (ignore == (now.sa_handler == SIG_IGN)) continue;
    struct sigaction action {};
    action.sa_handler = ignore ? SIG_IGN : SIG_DFL;
    sigaction(s, &action, nullptr);
  }

  std::uint32_t limits = 0;
  if (!get_raw(in, limits)) return false;
  for (std::uint32_t r = 0; r < limits; ++r) {
    std::uint64_t current = 0, maximum = 0;
    if (!get_raw(in, current) || !get_raw(in, maximum)) return false;
    if (r >= RLIMIT_NLIMITS) continue;
    const rlimit limit{static_cast<rlim_t>(current), static_cast<rlim_t>(maximum)};
    setrlimit(static_cast<__rlimit_resource>(r), &limit);
  }

  std::int32_t nice = 0;
  if (!get_raw(in, nice)) return false;
  setpriority(PRIO_PROCESS, 0, nice);
  return true;
}

std::string security_fingerprint() {
  std::string out;
  std::istringstream status(read_file("/proc/self/status"));
  for (std::string line; std::getline(status, line);) {
    for (const char* key : {"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:",
                            "NoNewPrivs:", "Seccomp:", "Seccomp_filters:"}) {
      if (line.rfind(key, 0) == 0) out += line + '\n';
    }
  }
  struct stat root {};
  if (stat("/", &root) == 0) out += "root " + std::to_string(root.st_dev) + ':' + std::to_string(root.st_ino) + '\n';
  for (const char* ns : {"cgroup", "ipc", "mnt", "net", "pid_for_children", "time_for_children", "user", "uts"}) {
    char target[64];
    const std::string link = std::string("/proc/self/ns/") + ns;
    const ssize_t n = readlink(link.c_str(), target, sizeof target);
    if (n > 0) out.append(target, static_cast<std::size_t>(n)) += '\n';
  }
  out += read_file("/proc/self/cgroup");
  return out;
}

}  // namespace concurrent::futures::detail::process
