#include "leak_check.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

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

// "name" state=S from /proc/<pid>/stat ("pid (name) S ..."; the name may hold spaces or ')').
std::string process_details(pid_t pid) {
  const std::string stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  const auto open = stat.find('(');
  const auto close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return "(gone)";
  std::string out = '"' + stat.substr(open + 1, close - open - 1) + '"';
  if (close + 2 < stat.size()) out += std::string(" state=") + stat[close + 2];
  return out;
}

void add_children(ResourceCounts& c) {
  for_each_entry("/proc/self/task", [&](const char* tid) {
    std::ifstream in(std::string("/proc/self/task/") + tid + "/children");
    pid_t pid;
    while (in >> pid) c.children.insert(pid);
  });
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
      case Style::kArrow: out += " -> " + value; break;
      case Style::kQuoted: out += " \"" + value + '"'; break;
      case Style::kPlain: out += ' ' + value; break;
    }
  }
  return out;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + ' ' + (n == 1 ? one : many);
}

}  // namespace

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
  c.fds = fds.size();
  c.fd_targets = std::move(fds);
  for_each_entry("/proc/self/task", [&](const char* tid) {
    c.thread_names[static_cast<pid_t>(std::atoi(tid))] =
        read_first_line(std::string("/proc/self/task/") + tid + "/comm");
  });
  c.threads = c.thread_names.size();
  add_children(c);
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
