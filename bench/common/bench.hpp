// Shared plumbing of the comparison programs (bench/compare runs them): the clock, statistics,
// command-line arguments, a one-line JSON report, memory probes, and the tiny tasks every
// system runs. Each program measures one workload for one system per process and prints one
// JSON object on stdout, so every system is timed with the same code and the same clock.
#pragma once

#include <malloc.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" char** environ;

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
inline double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

// Keeps a value alive so the optimiser cannot drop the work that produced it.
inline std::atomic<long long> g_sink{0};
inline void consume(long long v) { g_sink.fetch_add(v, std::memory_order_relaxed); }

// Runs this program again with `args` (and, with `without_early_fork_server`, with
// CFUTURES_EARLY_FORK_SERVER=0, so its process pools start fork servers of their own) and returns
// what it printed on stdout.
inline std::string run_self(const std::vector<std::string>& args, bool without_early_fork_server) {
  std::vector<std::string> storage{"/proc/self/exe"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string off = "CFUTURES_EARLY_FORK_SERVER=0";
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  if (without_early_fork_server) env.push_back(off.data());
  env.push_back(nullptr);
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  close(out[0]);
  if (error != 0) throw std::runtime_error("posix_spawn /proc/self/exe");
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("the child run failed");
  return text;
}

// The number after `"key":` in a one-line JSON report.
inline double json_number(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos) throw std::runtime_error("no " + key + " in " + json);
  return std::stod(json.substr(at + key.size() + 3));
}

// Warm-up before every timed phase, the same for all thread pools (process pools use 200).
inline constexpr long kWarmup = 1000;

// ---------------------------------------------------------------------------------------------
// Arguments: --workload NAME --system NAME --n N --m M --workers W --chunksize C ...
class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string key = argv[i];
      if (key.rfind("--", 0) != 0 || i + 1 >= argc) throw std::invalid_argument("bad argument: " + key);
      values_[key.substr(2)] = argv[++i];
    }
  }
  std::string str(const std::string& key, const std::string& fallback = "") const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }
  long num(const std::string& key, long fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : std::stol(it->second);
  }
  int workers() const { return static_cast<int>(num("workers", 2)); }

 private:
  std::map<std::string, std::string> values_;
};

// ---------------------------------------------------------------------------------------------
// A flat JSON object: {"key": number-or-string, ...}, printed on one line.
class Report {
 public:
  Report& set(const std::string& key, double value) {
    std::ostringstream out;
    if (std::isfinite(value)) {
      out.precision(9);
      out << value;
    } else {
      out << "null";
    }
    fields_.emplace_back(key, out.str());
    return *this;
  }
  Report& set(const std::string& key, const std::string& value) {
    std::string quoted = "\"";
    for (char c : value) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    fields_.emplace_back(key, quoted + "\"");
    return *this;
  }
  Report& set(const std::string& key, const char* value) { return set(key, std::string(value)); }
  std::string str() const {
    std::string out = "{";
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (i) out += ", ";
      out += "\"" + fields_[i].first + "\": " + fields_[i].second;
    }
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// ---------------------------------------------------------------------------------------------
// Statistics of a sample (the sample is sorted in place).
struct Summary {
  double median = 0, p99 = 0, min = 0, max = 0, mean = 0;
};
inline double percentile_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) return NAN;
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = static_cast<std::size_t>(std::ceil(pos));
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}
inline Summary summarize(std::vector<double>& v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = percentile_sorted(v, 0.5);
  s.p99 = percentile_sorted(v, 0.99);
  s.min = v.front();
  s.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

// ---------------------------------------------------------------------------------------------
// Memory probes.
inline double rss_bytes() {  // resident set now
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}
// High-water mark of the resident set of this program (VmHWM). Not getrusage's ru_maxrss:
// that one survives execve, so it would report the launching process's peak when that was larger.
inline double peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
  }
  return NAN;
}
inline double heap_bytes() {  // bytes handed out by malloc now (glibc), all arenas
  struct mallinfo2 info = mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

// ---------------------------------------------------------------------------------------------
// The tasks.

// The no-op task: return the argument (Python: def ident(x): return x).
inline int ident(int x) { return x; }

// The seed program's work (shared/seeds, the docs' ProcessPoolExecutor example).
inline constexpr long long kPrimes[] = {112272535095293LL, 112582705942171LL, 112272535095293LL,
                                        115280095190773LL, 115797848077099LL, 1099726899285419LL};
inline bool is_prime(long long n) {
  if (n % 2 == 0) return false;
  const auto sqrt_n = static_cast<long long>(std::floor(std::sqrt(static_cast<double>(n))));
  for (long long i = 3; i <= sqrt_n; i += 2) {
    if (n % i == 0) return false;
  }
  return true;
}
inline int primes_found(const std::vector<bool>& flags) {
  return static_cast<int>(std::count(flags.begin(), flags.end(), true));
}

// Holds every worker of a pool inside a task until released, so that later submissions stay
// pending (for the memory workload and wait() over pending futures).
class Gate {
 public:
  // The task to submit once per worker.
  void hold() {
    entered_.fetch_add(1, std::memory_order_acq_rel);
    entered_.notify_all();
    while (!open_.load(std::memory_order_acquire)) open_.wait(false, std::memory_order_acquire);
  }
  void wait_entered(int count) {
    for (int n = entered_.load(); n < count; n = entered_.load()) entered_.wait(n);
  }
  void open() {
    open_.store(true, std::memory_order_release);
    open_.notify_all();
  }

 private:
  std::atomic<int> entered_{0};
  std::atomic<bool> open_{false};
};

// The gate task: holds its worker until the gate opens.
inline int hold_gate(Gate* gate) {
  gate->hold();
  return 0;
}

// The input of the map workloads: 0, 1, ..., n-1.
inline std::vector<int> iota_ints(long n) {
  std::vector<int> xs(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<int>(i);
  return xs;
}

// A lazy input range of `count` ints (never materialised), for the bounded map.
class Counting {
 public:
  explicit Counting(long count) : count_(count) {}
  struct iterator {
    using value_type = int;
    using difference_type = std::ptrdiff_t;
    long i = 0;
    int operator*() const { return static_cast<int>(i); }
    iterator& operator++() {
      ++i;
      return *this;
    }
    void operator++(int) { ++i; }
    bool operator==(const iterator& o) const { return i == o.i; }
  };
  iterator begin() const { return {0}; }
  iterator end() const { return {count_}; }

 private:
  long count_;
};

// ---------------------------------------------------------------------------------------------
// Entry point: runs the workload named by --workload and prints its report.
using Workload = std::function<void(const Args&, Report&)>;
using Registry = std::map<std::string, Workload>;

inline int run_main(int argc, char** argv, const std::string& default_system, const Registry& workloads) {
  try {
    Args args(argc, argv);
    const std::string name = args.str("workload");
    auto it = workloads.find(name);
    if (it == workloads.end()) {
      std::string known;
      for (const auto& [k, v] : workloads) known += " " + k;
      std::fprintf(stderr, "unknown workload '%s'; known:%s\n", name.c_str(), known.c_str());
      return 2;
    }
    Report report;
    report.set("system", args.str("system", default_system)).set("workload", name);
    it->second(args, report);
    std::printf("%s\n", report.str().c_str());
    std::fflush(stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace bench
