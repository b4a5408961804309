#include "leak_check.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace cftest {
namespace {

std::size_t count_dir_entries(const char* path) {
  std::size_t n = 0;
  if (DIR* dir = opendir(path)) {
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(dir);
  }
  return n;
}

std::set<pid_t> children_of_self() {
  std::set<pid_t> children;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/children");
      pid_t pid;
      while (in >> pid) children.insert(pid);
    }
    closedir(dir);
  }
  return children;
}

}  // namespace

ResourceCounts count_resources() {
  ResourceCounts c;
  c.fds = count_dir_entries("/proc/self/fd") - 1;  // minus the descriptor opendir itself holds
  c.threads = count_dir_entries("/proc/self/task");
  c.children = children_of_self();
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
    for (pid_t p : children) out << ' ' << p;
    out << " )";
  }
  return out.str();
}

}  // namespace cftest
