// Runs a function in a forked child process, for the tests whose subject is what happens when
// a program ends (CPython runs those in a subprocess). The child gets a pipe to write its
// "stdout" to, has its stderr captured, and ends with _exit(0) once the function returns (its
// destructors have run by then), so it never returns into the test runner.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>

#include "sanitizers.hpp"

// ThreadSanitizer cannot follow a child of a multi-threaded process that starts threads: the
// child reuses the stacks (and pthread ids) of the parent's other threads, which TSan still
// tracks ("dup thread with used id"). The test runner always has a watchdog thread, so the
// fork tests are skipped under TSan; they run in the normal and ASan builds.
#ifdef CFTEST_TSAN
#define CFTEST_SKIP_FORK_UNDER_TSAN() \
  GTEST_SKIP() << "ThreadSanitizer cannot run threads in a multi-threaded fork's child"
#else
#define CFTEST_SKIP_FORK_UNDER_TSAN() (void)0
#endif

namespace pooltest {

struct ChildResult {
  int exit_code = -1;  // -1 if the child did not exit normally
  std::string out;     // what the child wrote to its output pipe
  std::string err;     // what the child wrote to stderr
};

inline std::string read_all(int fd) {
  std::string text;
  char buffer[256];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      return text;
    }
  }
}

// Writes `text` to `fd` (the child's output pipe).
inline void write_text(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

inline ChildResult run_in_child(const std::function<void(int out_fd)>& body) {
  int out[2];
  int err[2];
  if (pipe(out) != 0 || pipe(err) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    close(out[0]);
    close(err[0]);
    dup2(err[1], STDERR_FILENO);
    close(err[1]);
    body(out[1]);
    _exit(0);
  }
  close(out[1]);
  close(err[1]);
  ChildResult result;
  result.out = read_all(out[0]);  // EOF once the child exits
  result.err = read_all(err[0]);
  close(out[0]);
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

}  // namespace pooltest
