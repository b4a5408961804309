#include "leak_check.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include "process/testing.hpp"

namespace cftest {
namespace {

// Calls fn(name) for each entry of `path` except "." and "..".
template <class Fn>
void for_each_entry(const char* path, Fn&& fn, int* own_fd = nullptr) {
  if (DIR* dir = opendir(path)) {
    if (own_fd != nullptr) *own_fd = dirfd(dir);
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') fn(e->d_name);
    }
    closedir(dir);
  }
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// "name" state=S, for messages.
std::string process_details(pid_t pid) {
  const ProcessStat stat = process_stat(pid);
  if (stat.state == '?') return "(gone)";
  return '"' + stat.name + "\" state=" + stat.state;
}

// Every descendant, so that a worker left by the early fork server (the program's child, the
// workers' parent) counts; the early server itself exists before the first test and may be
// killed by one (tests of its death), so it is not counted.
void add_descendants(ResourceCounts& c) {
  const pid_t early_server = concurrent::futures::detail::process::testing::early_fork_server().pid;
  std::vector<pid_t> frontier(1, getpid());
  std::set<pid_t> seen;
  while (!frontier.empty()) {
    const pid_t parent = frontier.back();
    frontier.pop_back();
    for (pid_t child : children_of(parent)) {
      if (!seen.insert(child).second) continue;
      frontier.push_back(child);
      if (child != early_server) c.children.insert(child);
    }
  }
  for (pid_t pid : c.children) c.child_details[pid] = process_details(pid);
}

enum class Style { kArrow, kQuoted, kPlain };  // fd 7 -> pipe:[1] | tid 8 "name" | pid 9 "name" state=Z

// Lists the keys of `a` missing from `b` as "<prefix> <key> <value>".
template <class Map>
std::string only_in(const Map& a, const Map& b, const char* prefix, Style style) {
  std::string out;
  for (const auto& [key, value] : a) {
    if (b.count(key) != 0) continue;
    if (!out.empty()) out += ", ";
    out += std::string(prefix) + ' ' + std::to_string(key);
    switch (style) {
      case Style::kArrow:
        out += " -> " + value;
        break;
      case Style::kQuoted:
        out += " \"" + value + '"';
        break;
      case Style::kPlain:
        out += ' ' + value;
        break;
    }
  }
  return out;
}

// The inodes of this process's TCP sockets (/proc/self/net/tcp and tcp6, 10th column).
std::set<std::string> tcp_socket_inodes() {
  std::set<std::string> inodes;
  for (const char* table : {"/proc/self/net/tcp", "/proc/self/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string field;
      for (int i = 1; i <= 10 && fields >> field; ++i) {
        if (i == 10) inodes.insert(field);
      }
    }
  }
  return inodes;
}

// CFTEST_LEAK_IGNORE_TCP_SOCKETS=1 (set by the MPI tests' launcher, tests/mpi/mpi_launch.sh):
// OpenMPI opens a TCP connection to each rank it talks to over its TCP transport (spawned ranks,
// ranks on other hosts) and keeps it until MPI_Finalize, even after the communicator was
// disconnected. cfutures itself opens no TCP socket, so not counting them hides nothing of its.
void drop_tcp_sockets(std::map<int, std::string>& fds) {
  if (std::getenv("CFTEST_LEAK_IGNORE_TCP_SOCKETS") == nullptr) return;
  const std::set<std::string> inodes = tcp_socket_inodes();
  std::erase_if(fds, [&](const auto& fd) {
    const std::string& target = fd.second;
    return target.rfind("socket:[", 0) == 0 && inodes.count(target.substr(8, target.size() - 9)) != 0;
  });
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + ' ' + (n == 1 ? one : many);
}

}  // namespace

ProcessStat process_stat(pid_t pid) {
  ProcessStat out;
  const std::string stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  const auto open = stat.find('(');
  const auto close = stat.rfind(')');  // the name may hold spaces or ')'
  if (open == std::string::npos || close == std::string::npos || close < open) return out;
  out.name = stat.substr(open + 1, close - open - 1);
  std::istringstream fields(stat.substr(close + 1));
  fields >> out.state >> out.parent;
  return out;
}

std::set<pid_t> children_of(pid_t pid) {
  std::set<pid_t> out;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for_each_entry(tasks.c_str(), [&](const char* tid) {
    std::ifstream in(tasks + "/" + tid + "/children");
    pid_t child;
    while (in >> child) out.insert(child);
  });
  return out;
}

ResourceCounts count_resources() {
  ResourceCounts c;
  int own_fd = -1;
  std::map<int, std::string> fds;
  for_each_entry(
      "/proc/self/fd",
      [&](const char* name) {
        const int fd = std::atoi(name);
        char target[4096];
        const std::string link = std::string("/proc/self/fd/") + name;
        const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
        fds[fd] = n >= 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string("?");
      },
      &own_fd);
  fds.erase(own_fd);  // the descriptor opendir itself held
  // The program's end of the early fork server's control socket and its pidfd: closed if a test
  // kills the server (its death is the subject there, not a leak).
  const auto early = concurrent::futures::detail::process::testing::early_fork_server();
  fds.erase(early.control);
  fds.erase(early.pidfd);
  drop_tcp_sockets(fds);
  c.fds = fds.size();
  c.fd_targets = std::move(fds);
  for_each_entry("/proc/self/task", [&](const char* tid) {
    c.thread_names[static_cast<pid_t>(std::atoi(tid))] =
        read_first_line(std::string("/proc/self/task/") + tid + "/comm");
  });
  c.threads = c.thread_names.size();
  add_descendants(c);
  return c;
}

bool same(const ResourceCounts& a, const ResourceCounts& b) {
  return a.fds == b.fds && a.threads == b.threads && a.children == b.children;
}

ResourceCounts settle(const ResourceCounts& before, std::chrono::milliseconds grace) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  ResourceCounts now = count_resources();
  while (!same(before, now) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the OS, not synchronising
    now = count_resources();
  }
  return now;
}

std::string ResourceCounts::describe() const {
  std::ostringstream out;
  out << fds << " fds, " << threads << " threads, " << children.size() << " child processes";
  if (!children.empty()) {
    out << " (";
    for (pid_t p : children) {
      const auto it = child_details.find(p);
      out << " pid " << p << (it != child_details.end() ? " " + it->second : std::string());
    }
    out << " )";
  }
  return out.str();
}

std::string describe_difference(const ResourceCounts& before, const ResourceCounts& after) {
  std::ostringstream out;
  auto section = [&](const std::string& text) {
    if (text.empty()) return;
    if (out.tellp() > 0) out << "; ";
    out << text;
  };
  // File descriptors: by number and target, so a leaked pipe or socket is named.
  const std::string opened = only_in(after.fd_targets, before.fd_targets, "fd", Style::kArrow);
  const std::string closed = only_in(before.fd_targets, after.fd_targets, "fd", Style::kArrow);
  if (after.fds > before.fds || !opened.empty()) {
    section(plural(after.fds - std::min(after.fds, before.fds), "file descriptor", "file descriptors") +
            " more than before; opened and not closed: " + (opened.empty() ? "(renumbered)" : opened));
  }
  if (!closed.empty()) section("closed during the test (open before it): " + closed);
  // Threads: by tid and name (the pools name theirs "<prefix>_<i>").
  const std::string started = only_in(after.thread_names, before.thread_names, "tid", Style::kQuoted);
  const std::string ended = only_in(before.thread_names, after.thread_names, "tid", Style::kQuoted);
  if (after.threads != before.threads) {
    section(std::to_string(before.threads) + " threads before, " + std::to_string(after.threads) +
            " after; started and not ended: " + (started.empty() ? "(none new)" : started) +
            (ended.empty() ? std::string() : "; ended: " + ended));
  }
  // Children: each left-over one with its name and state (Z = a zombie nobody reaped).
  const std::string new_children = only_in(after.child_details, before.child_details, "pid", Style::kPlain);
  const std::string gone_children = only_in(before.child_details, after.child_details, "pid", Style::kPlain);
  if (!new_children.empty()) section("child processes left behind: " + new_children);
  if (!gone_children.empty()) section("child processes that existed before and are gone: " + gone_children);
  return out.str();
}

}  // namespace cftest
