// What a person sees (API.md "Progress"): progress_program runs under a pseudo-terminal of 80
// columns, and its output is replayed as a terminal shows it (a carriage return goes back to
// the start of the line, a character overwrites what is under it). The screen keeps the final
// line; the line is redrawn at most ten times a second; with pipes instead of a terminal
// nothing is printed but the program's own output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "../thread_pool/child_process.hpp"

namespace {

using namespace std::chrono_literals;
using ::testing::MatchesRegex;

struct TerminalRun {
  std::string output;  // all the terminal received
  int exit_code = -1;
  std::chrono::steady_clock::duration took{};
};

std::vector<char*> argv_of(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

int exit_code_of(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs progress_program with `args` on a new pseudo-terminal (its stdout and stderr both).
TerminalRun run_on_terminal(const std::vector<std::string>& options) {
  std::vector<std::string> args{CFTEST_PROGRESS_PROGRAM};
  for (const std::string& option : options) args.push_back(option);
  std::vector<char*> argv = argv_of(args);
  winsize size{};
  size.ws_row = 24;
  size.ws_col = 80;
  int master = -1;
  const auto started = std::chrono::steady_clock::now();
  const pid_t pid = forkpty(&master, nullptr, nullptr, &size);
  if (pid == 0) {
    execv(argv[0], argv.data());
    _exit(127);
  }
  TerminalRun run;
  if (pid < 0) return run;
  const auto give_up = started + 60s;
  char buffer[4096];
  for (;;) {
    pollfd readable{master, POLLIN, 0};
    if (std::chrono::steady_clock::now() > give_up) {
      ADD_FAILURE() << "progress_program still running after 60 s";
      kill(pid, SIGKILL);
      break;
    }
    if (poll(&readable, 1, 1000) <= 0) continue;
    const ssize_t n = read(master, buffer, sizeof buffer);
    if (n > 0) {
      run.output.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;  // EIO: the program and its terminal are gone
    }
  }
  close(master);
  run.exit_code = exit_code_of(pid);
  run.took = std::chrono::steady_clock::now() - started;
  return run;
}

// The lines of the screen after `output`, as a terminal shows them.
std::vector<std::string> screen(const std::string& output) {
  std::vector<std::string> lines(1);
  std::size_t column = 0;
  for (char c : output) {
    if (c == '\r') {
      column = 0;
    } else if (c == '\n') {
      lines.emplace_back();
      column = 0;
    } else {
      std::string& line = lines.back();
      if (column < line.size()) {
        line[column] = c;
      } else {
        line.push_back(c);
      }
      ++column;
    }
  }
  if (lines.back().empty()) lines.pop_back();
  return lines;
}

// How many times the line was drawn: each draw starts with a carriage return (the terminal
// turns the final line's newline into "\r\n", which is not a draw).
std::size_t draws(const std::string& output) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < output.size(); ++i) {
    if (output[i] == '\r' && (i + 1 == output.size() || output[i + 1] != '\n')) ++count;
  }
  return count;
}

TEST(ProgressTerminal, TheScreenKeepsTheFinalLineAndRedrawsAreThrottled) {
  // 20000 elements of 25 us: half a second, and a line that would be drawn 20000 times.
  const TerminalRun run = run_on_terminal({"vector", "20000", "25"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::vector<std::string> lines = screen(run.output);
  ASSERT_EQ(lines.size(), 2u) << run.output;
  EXPECT_THAT(lines[0], MatchesRegex("work: 100%\\|#+\\| 20000/20000 \\[00:0[0-9]<00:00, +[0-9]+\\.[0-9][0-9]it/s\\]"));
  EXPECT_EQ(lines[0].size(), 80u) << "the bar fills the terminal's 80 columns";
  EXPECT_EQ(lines[1], "sum=199990000");
  const double seconds = std::chrono::duration<double>(run.took).count();
  EXPECT_GE(draws(run.output), 2u) << "the first line and the final one";
  EXPECT_LE(draws(run.output), static_cast<std::size_t>(seconds * 10) + 2) << "more than ten redraws a second";
}

TEST(ProgressTerminal, AsCompletedAndMapRangesShowTheirTotal) {
  const TerminalRun completed = run_on_terminal({"as_completed", "200", "1000"});
  ASSERT_EQ(completed.exit_code, 0) << completed.output;
  const std::vector<std::string> lines = screen(completed.output);
  ASSERT_EQ(lines.size(), 2u) << completed.output;
  EXPECT_THAT(lines[0], MatchesRegex("futures: 100%\\|#+\\| 200/200 \\[.*it/s\\]"));
  EXPECT_EQ(lines[1], "sum=19900");

  const TerminalRun mapped = run_on_terminal({"map", "200", "1000"});
  ASSERT_EQ(mapped.exit_code, 0) << mapped.output;
  const std::vector<std::string> map_lines = screen(mapped.output);
  ASSERT_EQ(map_lines.size(), 2u) << mapped.output;
  EXPECT_THAT(map_lines[0], MatchesRegex("map: 100%\\|#+\\| 200/200 \\[.*it/s\\]"));
  EXPECT_EQ(map_lines[1], "sum=19900");
}

TEST(ProgressTerminal, NothingIsPrintedWhenNotOnATerminal) {
  const pooltest::ChildResult run = pooltest::run_in_child([](int out_fd) {
    dup2(out_fd, STDOUT_FILENO);
    execl(CFTEST_PROGRESS_PROGRAM, CFTEST_PROGRESS_PROGRAM, "vector", "2000", "100", static_cast<char*>(nullptr));
    _exit(127);
  });
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "sum=1999000\n");
  EXPECT_EQ(run.err, "") << "a progress line on a pipe";
}

}  // namespace
