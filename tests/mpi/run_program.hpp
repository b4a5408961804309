// Runs a helper program for a test and collects what it printed (stdout and stderr together)
// and how it ended. The MPI environment rules need a fresh process per case: MPI can be
// initialized only once in a process.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace cftest {

struct ProgramRun {
  int status = -1;  // the exit status, or 128 + the signal that ended it
  std::string output;
};

// Starts argv[0] with argv and the environment plus `extra_env` ("NAME=value"); kills it if it
// runs longer than `timeout`. The program's own children (an MPI singleton's helper) may keep
// the output pipe open after it exits: reading stops when the program has exited.
inline ProgramRun run_program(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {},
                              std::chrono::seconds timeout = std::chrono::seconds(60)) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings(extra_env);
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> env;
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    throw std::runtime_error("posix_spawn " + argv[0] + " failed");
  }
  ProgramRun run;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int wait_status = 0;
  bool exited = false;
  for (;;) {
    pollfd fd{pipe_fds[0], POLLIN, 0};
    const bool readable = poll(&fd, 1, 50) > 0 && (fd.revents & (POLLIN | POLLHUP)) != 0;
    if (readable) {
      char buffer[4096];
      const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
      if (n > 0) {
        run.output.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 && exited) break;  // EOF
    }
    if (exited) break;  // nothing more for now, and the program is gone
    if (waitpid(pid, &wait_status, WNOHANG) == pid) {
      exited = true;  // one more pass to read what is left
      continue;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &wait_status, 0);
      exited = true;
      run.output += "\n[killed by run_program after the timeout]\n";
    }
  }
  close(pipe_fds[0]);
  run.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  return run;
}

}  // namespace cftest
