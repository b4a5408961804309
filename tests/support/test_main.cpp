// The main() of every test binary: GoogleTest plus the leak accounting of leak_check.hpp.
// A test that leaves a file descriptor, a thread or a child process behind fails, and the
// failure names them (fd targets, thread names, child pids with their state).
//
// Environment:
//   CFTEST_NO_LEAK_CHECK=1          turn the leak accounting off (for debugging only)
//   CFTEST_LEAK_IGNORE_TCP_SOCKETS=1  do not count TCP sockets (MPI's, which it keeps until it
//                                   is finalized: leak_check.cpp; set for the MPI tests)
//   CFTEST_WATCHDOG_SECONDS=N       if one test runs longer than N seconds, print what every
//                                   thread of the process is blocked in, then abort, so a hang
//                                   leaves a diagnosis instead of a bare CTest timeout
//                                   (cf_add_test sets it a little under the CTest timeout)
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "leak_check.hpp"
#include "sanitizers.hpp"

namespace {

class LeakListener : public testing::EmptyTestEventListener {
 public:
  void OnTestStart(const testing::TestInfo&) override { before_ = cftest::count_resources(); }
  void OnTestEnd(const testing::TestInfo& info) override {
    if (info.result()->Skipped()) return;
    const auto after = cftest::settle(before_, std::chrono::seconds(10));
    if (!cftest::same(before_, after)) {
      ADD_FAILURE() << "resource leak in " << info.test_suite_name() << "." << info.name() << ": "
                    << cftest::describe_difference(before_, after) << "\n  before the test: " << before_.describe()
                    << "\n  after it:        " << after.describe();
    }
  }

 private:
  cftest::ResourceCounts before_;
};

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The syscall a thread is blocked in, by name for the usual suspects (x86-64 numbers).
std::string syscall_name(const std::string& number) {
#if defined(__x86_64__)
  static const std::pair<const char*, const char*> names[] = {{"0", "read"},
                                                              {"1", "write"},
                                                              {"7", "poll"},
                                                              {"23", "select"},
                                                              {"34", "pause"},
                                                              {"35", "nanosleep"},
                                                              {"61", "wait4"},
                                                              {"202", "futex"},
                                                              {"230", "clock_nanosleep"},
                                                              {"232", "epoll_wait"},
                                                              {"247", "waitid"},
                                                              {"270", "pselect6"},
                                                              {"271", "ppoll"},
                                                              {"281", "epoll_pwait"},
                                                              {"-1", "none (running)"},
                                                              {"running", "none (running)"}};
  for (const auto& [n, name] : names) {
    if (number == n) return name;
  }
#endif
  return number;
}

// Aborts the process with a per-thread report when one test outlives its budget. The watchdog
// thread exists for the whole run, so the leak accounting sees it both before and after a test.
class Watchdog : public testing::EmptyTestEventListener {
 public:
  explicit Watchdog(std::chrono::seconds budget)
      : budget_(budget), thread_([this] {
          pthread_setname_np(pthread_self(), "cftest-watchdog");
          loop();
        }) {}
  ~Watchdog() override {
    {
      std::lock_guard lock(mutex_);
      exiting_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void OnTestStart(const testing::TestInfo& info) override {
    std::lock_guard lock(mutex_);
    name_ = std::string(info.test_suite_name()) + "." + info.name();
    deadline_ = std::chrono::steady_clock::now() + budget_;
    armed_ = true;
    cv_.notify_all();
  }
  void OnTestEnd(const testing::TestInfo&) override {
    std::lock_guard lock(mutex_);
    armed_ = false;
    cv_.notify_all();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (exiting_) return;
      if (!armed_) {
        cv_.wait(lock);
        continue;
      }
      const auto deadline = deadline_;
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && armed_ && deadline_ == deadline) {
        report_and_abort();
      }
    }
  }
  void report_and_abort() {
    std::fprintf(stderr, "\nwatchdog: %s still running after %lld s; threads and where they wait:\n", name_.c_str(),
                 static_cast<long long>(budget_.count()));
    const auto now = cftest::count_resources();
    for (const auto& [tid, name] : now.thread_names) {
      const std::string base = "/proc/self/task/" + std::to_string(tid);
      const std::string syscall = read_line(base + "/syscall");
      std::fprintf(stderr, "  tid %d \"%s\" wchan=%s syscall=%s\n", static_cast<int>(tid), name.c_str(),
                   read_line(base + "/wchan").c_str(), syscall_name(syscall.substr(0, syscall.find(' '))).c_str());
    }
    std::fprintf(stderr, "  resources now: %s\n", now.describe().c_str());
    std::fflush(stderr);
    std::abort();
  }

  const std::chrono::seconds budget_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string name_;
  std::chrono::steady_clock::time_point deadline_;
  bool armed_ = false;
  bool exiting_ = false;
  std::thread thread_;
};

}  // namespace

// ThreadSanitizer: a future's exception object may be freed by another thread (the one dropping
// the last std::exception_ptr, e.g. a process pool's reply thread) after this thread read it in
// a catch handler. The two are ordered by the exception's reference count, but that count lives
// in libstdc++.so, which is not instrumented, so ThreadSanitizer cannot see the ordering and
// reports a race that cannot happen. (A user's TSan build needs the same line: docs/design.md.)
#ifdef CFTEST_TSAN
extern "C" const char* __tsan_default_suppressions() {
  return "race:std::__exception_ptr::exception_ptr::_M_release\n";
}
#endif

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  // Start and end one thread before the first test: sanitizer runtimes start a helper thread
  // of their own when the program starts its first thread, which would otherwise be counted
  // as a leak of whichever test came first. The joined thread's /proc/self/task entry can
  // outlast the join a moment; the first test's count must not see it (it would read "ended
  // during the test"), so wait until it is gone (bounded: the check then reports it).
  pid_t tid = 0;
  std::thread([&tid] { tid = gettid(); }).join();
  const std::string entry = "/proc/self/task/" + std::to_string(tid);
  struct stat info {};
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (::stat(entry.c_str(), &info) == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto& listeners = testing::UnitTest::GetInstance()->listeners();
  if (std::getenv("CFTEST_NO_LEAK_CHECK") == nullptr) listeners.Append(new LeakListener);
  // Appended last, so it is disarmed first at the end of a test (GoogleTest calls OnTestEnd in
  // reverse order): the leak check's grace period does not count against the test's budget.
  if (const char* s = std::getenv("CFTEST_WATCHDOG_SECONDS"); s != nullptr && std::atoi(s) > 0) {
    listeners.Append(new Watchdog(std::chrono::seconds(std::atoi(s))));
  }
  return RUN_ALL_TESTS();
}
