// A program's SIGCHLD settings are its own: whether it ignores SIGCHLD, sets SA_NOCLDWAIT or
// reaps every child itself with waitpid(-1), its pools neither hang nor miss a worker's death,
// with the early fork server or a server of the pool's own (the ".own_server" run, and a forked
// child of the program, which always starts its own). Each case changes process-wide signal
// state, so it runs in a process of its own: a forked child, or (for the program itself) a
// CTest test of its own, which puts the old state back when it ends.
#include <errno.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cfutures/cfutures.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../thread_pool/child_process.hpp"
#include "sanitizers.hpp"
#include "tasks.hpp"

namespace cf = concurrent::futures;

namespace {

enum class Sigchld { kIgnored, kNoCldWait, kReapedByTheProgram };

std::atomic<int> reaped_by_handler{0};

// A program's own reaper: every child that ended, whoever it was.
void reap_every_child(int) {
  const int saved = errno;
  while (waitpid(-1, nullptr, WNOHANG) > 0) reaped_by_handler.fetch_add(1, std::memory_order_relaxed);
  errno = saved;
}

// Sets SIGCHLD as `how` says for as long as it lives.
class SigchldAs {
 public:
  explicit SigchldAs(Sigchld how) {
    struct sigaction action {};
    sigemptyset(&action.sa_mask);
    switch (how) {
      case Sigchld::kIgnored:
        action.sa_handler = SIG_IGN;
        break;
      case Sigchld::kNoCldWait:
        action.sa_handler = SIG_DFL;
        action.sa_flags = SA_NOCLDWAIT;
        break;
      case Sigchld::kReapedByTheProgram:
        action.sa_handler = &reap_every_child;
        action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
        break;
    }
    sigaction(SIGCHLD, &action, &old_);
  }
  ~SigchldAs() { sigaction(SIGCHLD, &old_, nullptr); }
  SigchldAs(const SigchldAs&) = delete;
  SigchldAs& operator=(const SigchldAs&) = delete;

 private:
  struct sigaction old_ {};
};

bool worker_ignores_sigchld() {
  struct sigaction action {};
  sigaction(SIGCHLD, nullptr, &action);
  return action.sa_handler == SIG_IGN;
}

// Pools that run calls and end (their destructors hung when SIGCHLD was ignored), a worker that
// dies, and workers replaced after each call. Returns what went wrong, or "".
std::string use_pools(Sigchld how) {
  std::ostringstream problems;
  {
    cf::ProcessPoolExecutor pool(1);
    if (pool.submit(pp::square, 3).result() != 9) problems << "square(3) != 9\n";
    // The workers still get the program's setting (only the server's own is the default).
    if (pool.submit(worker_ignores_sigchld).result() != (how == Sigchld::kIgnored)) {
      problems << "the workers' SIGCHLD is not the program's\n";
    }
  }
  {
    cf::ProcessPoolExecutor pool(1);
    try {
      pool.submit(pp::exit_with, 3).result();
      problems << "a worker's exit was not reported\n";
    } catch (const cf::BrokenProcessPool& e) {
      if (std::string_view(e.what()).find("(exit code 3)") == std::string_view::npos) {
        problems << "the worker's exit, misreported: " << e.what() << "\n";
      }
    }
  }
  {
    cf::ProcessPoolExecutor pool({.max_workers = 2, .max_tasks_per_child = 1});
    std::vector<int> squares;
    for (int r : pool.map(pp::square, std::vector<int>{1, 2, 3, 4, 5, 6})) squares.push_back(r);
    if (squares != std::vector<int>{1, 4, 9, 16, 25, 36}) problems << "map with retiring workers\n";
  }
  return problems.str();
}

std::string in_the_program(Sigchld how) {
  const SigchldAs setting(how);
  return use_pools(how);
}

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// use_pools() in a forked child whose SIGCHLD is set as `how` says; the child is killed if it
// has not ended within a minute ("hung").
std::string in_a_forked_child(Sigchld how) {
  int out[2];
  if (pipe(out) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    close(out[0]);
    std::string problems;
    {
      const SigchldAs setting(how);
      try {
        problems = use_pools(how);
      } catch (const std::exception& e) {
        problems = std::string("threw: ") + e.what();
      }
    }
    pooltest::write_text(out[1], problems.empty() ? "ok" : problems);
    _exit(0);
  }
  close(out[1]);
  const int pidfd = pidfd_open(pid);
  pollfd ended{pidfd, POLLIN, 0};
  const bool hung = pidfd >= 0 && poll(&ended, 1, 60'000) == 0;
  if (hung) kill(pid, SIGKILL);
  std::string text = pooltest::read_all(out[0]);
  close(out[0]);
  if (pidfd >= 0) close(pidfd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (hung) return "hung: " + text;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "the child failed: " + text;
  return text == "ok" ? "" : text;
}

#ifdef CFTEST_ASAN
#define SKIP_FORK_UNDER_ASAN() GTEST_SKIP() << "AddressSanitizer: fork of a threaded process (see test_fork_server.cpp)"
#else
#define SKIP_FORK_UNDER_ASAN() (void)0
#endif

}  // namespace

TEST(ProcessPoolSigchld, AProgramThatIgnoresSigchldNeitherHangsNorMissesADeath) {
  EXPECT_EQ(in_the_program(Sigchld::kIgnored), "");
}

TEST(ProcessPoolSigchld, AProgramWithNoCldWaitNeitherHangsNorMissesADeath) {
  EXPECT_EQ(in_the_program(Sigchld::kNoCldWait), "");
}

TEST(ProcessPoolSigchld, AProgramThatReapsItsOwnChildrenNeitherHangsNorMissesADeath) {
  EXPECT_EQ(in_the_program(Sigchld::kReapedByTheProgram), "");
}

TEST(ProcessPoolSigchld, AForkedChildThatIgnoresSigchldNeitherHangsNorMissesADeath) {
  CFTEST_SKIP_FORK_UNDER_TSAN();
  SKIP_FORK_UNDER_ASAN();
  EXPECT_EQ(in_a_forked_child(Sigchld::kIgnored), "");
}

TEST(ProcessPoolSigchld, AForkedChildWithNoCldWaitNeitherHangsNorMissesADeath) {
  CFTEST_SKIP_FORK_UNDER_TSAN();
  SKIP_FORK_UNDER_ASAN();
  EXPECT_EQ(in_a_forked_child(Sigchld::kNoCldWait), "");
}

TEST(ProcessPoolSigchld, AForkedChildThatReapsItsOwnChildrenNeitherHangsNorMissesADeath) {
  CFTEST_SKIP_FORK_UNDER_TSAN();
  SKIP_FORK_UNDER_ASAN();
  EXPECT_EQ(in_a_forked_child(Sigchld::kReapedByTheProgram), "");
}
