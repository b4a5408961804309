// The fork servers (src/process/forkserver.hpp): the early one, forked during static
// initialization and shared by every pool of the process, and a pool's own, started where the
// early one is turned off (CFUTURES_EARLY_FORK_SERVER=0, the ".own_server" run of this binary),
// bypassed (testing hook), dead, or belongs to another process.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cereal/types/string.hpp>
#include <cfutures/cfutures.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../thread_pool/child_process.hpp"
#include "leak_check.hpp"
#include "process/testing.hpp"
#include "sanitizers.hpp"
#include "tasks.hpp"

namespace cf = concurrent::futures;
namespace hook = cf::detail::process::testing;

namespace {

bool early_server_turned_off() {
  const char* setting = std::getenv("CFUTURES_EARLY_FORK_SERVER");
  return setting != nullptr && std::strcmp(setting, "0") == 0;
}

// The direct children of this process.
std::set<pid_t> children_of_self() { return cftest::children_of(getpid()); }

std::string name_of(pid_t pid) { return cftest::process_stat(pid).name; }

// The early server's pid if it runs (a test run in the same process may have killed it), or -1.
pid_t live_early_server() {
  const pid_t pid = hook::early_fork_server().pid;
  if (pid <= 0) return -1;
  const char state = cftest::process_stat(pid).state;
  return state != '?' && state != 'Z' ? pid : -1;
}

// New pools start a server of their own while it lives.
struct Bypass {
  Bypass() { hook::bypass_early_fork_server(true); }
  ~Bypass() { hook::bypass_early_fork_server(false); }
  Bypass(const Bypass&) = delete;
  Bypass& operator=(const Bypass&) = delete;
};

#define SKIP_WITHOUT_EARLY_SERVER() \
  if (live_early_server() < 0) GTEST_SKIP() << "no early fork server in this run"

}  // namespace

// The test binary is single-threaded during static initialization, so it has an early server
// unless the variable turns it off.
TEST(ProcessPoolForkServer, TheEarlyServerStartsBeforeMainUnlessTurnedOff) {
  const auto early = hook::early_fork_server();
  if (early_server_turned_off()) {
    EXPECT_EQ(early.pid, -1);
    EXPECT_EQ(early.control, -1);
    return;
  }
  ASSERT_GT(early.pid, 0);
  EXPECT_GE(early.control, 0);
  EXPECT_EQ(children_of_self().count(early.pid), 1u) << "the early server is a child of the program";
  cf::ProcessPoolExecutor pool(1);
  ASSERT_EQ(pool.submit(pp::worker_parent).result(), early.pid);  // it names itself before it serves
  EXPECT_EQ(name_of(early.pid), "cf-forkserver");
}

TEST(ProcessPoolForkServer, PoolsShareTheEarlyServer) {
  SKIP_WITHOUT_EARLY_SERVER();
  const pid_t early = hook::early_fork_server().pid;
  const auto before = children_of_self();
  cf::ProcessPoolExecutor a(1);
  cf::ProcessPoolExecutor b(1);
  EXPECT_EQ(a.submit(pp::worker_parent).result(), early);
  EXPECT_EQ(b.submit(pp::worker_parent).result(), early);
  EXPECT_NE(a.submit(pp::worker_pid).result(), b.submit(pp::worker_pid).result());
  EXPECT_EQ(children_of_self(), before) << "no pool started a server of its own";
}

// Workers keep the program's name, not the server's.
TEST(ProcessPoolForkServer, WorkersHaveTheProgramsName) {
  cf::ProcessPoolExecutor pool(1);
  const pid_t worker = pool.submit(pp::worker_pid).result();
  EXPECT_EQ(name_of(worker), name_of(getpid()));
}

TEST(ProcessPoolForkServer, APoolStartsAndReapsItsOwnServerWithoutTheEarlyOne) {
  Bypass bypass;
  const auto before = children_of_self();
  {
    cf::ProcessPoolExecutor pool(1);
    const pid_t server = pool.submit(pp::worker_parent).result();
    EXPECT_NE(server, hook::early_fork_server().pid);
    const auto during = children_of_self();
    EXPECT_EQ(during.size(), before.size() + 1);
    EXPECT_EQ(during.count(server), 1u) << "the pool's server is a child of this process";
  }
  EXPECT_EQ(children_of_self(), before) << "the pool reaped its server";
}

// After the early server is killed, the pools it served break and new ones start servers of
// their own; the program reaps the dead server.
TEST(ProcessPoolForkServer, AfterTheEarlyServerDiesNewPoolsStartTheirOwn) {
  SKIP_WITHOUT_EARLY_SERVER();
  const pid_t early = hook::early_fork_server().pid;
  cf::ProcessPoolExecutor old(2);
  auto running = old.submit(pp::sleep_ms, 10000);
  ASSERT_EQ(old.submit(pp::worker_parent).result(), early);  // on the second worker
  ASSERT_EQ(kill(early, SIGKILL), 0);
  EXPECT_THROW(running.result(), cf::BrokenProcessPool);
  for (int i = 0; i < 2; ++i) {
    cf::ProcessPoolExecutor fresh(1);
    EXPECT_NE(fresh.submit(pp::worker_parent).result(), early);
  }
  EXPECT_EQ(children_of_self().count(early), 0u) << "the dead early server was reaped";
}

// Ctrl-C reaches the whole process group: the servers ignore it (the program decides what it
// means), the workers do not (the program's own disposition, here the default).
TEST(ProcessPoolForkServer, InterruptSparesTheServerNotTheWorkers) {
  struct sigaction current {};
  sigaction(SIGINT, nullptr, &current);
  if (current.sa_handler == SIG_IGN) GTEST_SKIP() << "this run ignores SIGINT (its workers do too)";
  for (bool bypass : {false, true}) {
    if (!bypass && live_early_server() < 0) continue;
    hook::bypass_early_fork_server(bypass);
    cf::ProcessPoolExecutor pool(1);
    hook::bypass_early_fork_server(false);
    const pid_t server = pool.submit(pp::worker_parent).result();
    const pid_t first = pool.submit(pp::worker_pid).result();
    ASSERT_EQ(kill(server, SIGINT), 0);  // ignored: discarded when sent
    EXPECT_EQ(pool.submit(pp::worker_parent).result(), server);
    auto interrupted = pool.submit(pp::sleep_ms, 10000);
    ASSERT_EQ(kill(first, SIGINT), 0);
    try {
      interrupted.result();
      ADD_FAILURE() << "the interrupted call returned";
    } catch (const cf::BrokenProcessPool& e) {
      EXPECT_NE(std::string(e.what()).find("SIGINT"), std::string::npos) << e.what();
    }
  }
  if (live_early_server() < 0) return;
  cf::ProcessPoolExecutor after(1);
  EXPECT_EQ(after.submit(pp::worker_parent).result(), hook::early_fork_server().pid) << "the early server lives on";
}

// A forked copy of the program may not talk to its parent's early server (their messages would
// interleave): its pools start servers of their own.
TEST(ProcessPoolForkServer, AForkedChildOfTheProgramStartsItsOwnServer) {
  CFTEST_SKIP_FORK_UNDER_TSAN();
  // GCC 12's AddressSanitizer does not hold its allocator's locks across fork(): a child of this
  // multi-threaded test process can inherit one held, and hung in 1 of 80 runs here (the very
  // hazard the fork servers exist for). The normal build runs this test.
#ifdef CFTEST_ASAN
  GTEST_SKIP() << "AddressSanitizer: fork of a threaded process";
#endif
  const pid_t early = hook::early_fork_server().pid;
  const auto child = pooltest::run_in_child([&](int out) {
    cf::ProcessPoolExecutor pool(1);
    const pid_t server = pool.submit(pp::worker_parent).result();
    pooltest::write_text(out, server != early && server != getpid() ? "own" : "shared");
  });
  EXPECT_EQ(child.exit_code, 0) << child.err;
  EXPECT_EQ(child.out, "own");
}

namespace {

std::string env_of_worker(std::string name) {
  const char* value = std::getenv(name.c_str());
  return value != nullptr ? value : "<unset>";
}
std::string cwd_of_worker() { return std::filesystem::current_path().string(); }
int umask_of_worker() {
  const mode_t mask = umask(0);
  umask(mask);
  return static_cast<int>(mask);
}
bool worker_ignores(int signal) {
  struct sigaction action {};
  sigaction(signal, nullptr, &action);
  return action.sa_handler == SIG_IGN;
}
unsigned long long core_limit_of_worker() {
  rlimit limit{};
  getrlimit(RLIMIT_CORE, &limit);
  return limit.rlim_cur;
}

}  // namespace

// A worker starts with the program's state at the pool's creation, as an exec would give it,
// though the early server was forked before main() (inheritance.hpp).
TEST(ProcessPoolForkServer, WorkersInheritTheProgramsStateAtPoolCreation) {
  const auto old_cwd = std::filesystem::current_path();
  const auto dir = std::filesystem::temp_directory_path() / ("cf_inherit." + std::to_string(getpid()));
  std::filesystem::create_directory(dir);
  rlimit old_core{};
  getrlimit(RLIMIT_CORE, &old_core);
  struct sigaction old_usr1 {
  }, ignore{};
  ignore.sa_handler = SIG_IGN;

  ASSERT_EQ(setenv("CFTEST_SET_IN_MAIN", "yes", 1), 0);
  std::filesystem::current_path(dir);
  const mode_t old_mask = umask(027);
  sigaction(SIGUSR1, &ignore, &old_usr1);
  rlimit core = old_core;
  core.rlim_cur = 0;
  setrlimit(RLIMIT_CORE, &core);
  {
    cf::ProcessPoolExecutor pool(1);
    EXPECT_EQ(pool.submit(env_of_worker, std::string("CFTEST_SET_IN_MAIN")).result(), "yes");
    EXPECT_EQ(pool.submit(cwd_of_worker).result(), dir.string());
    EXPECT_EQ(pool.submit(umask_of_worker).result(), 027);
    EXPECT_TRUE(pool.submit(worker_ignores, int{SIGUSR1}).result());
    EXPECT_FALSE(pool.submit(worker_ignores, int{SIGUSR2}).result());
    EXPECT_EQ(pool.submit(core_limit_of_worker).result(), 0u);
    // What changes after the pool's creation is not seen: the state is the creation's.
    unsetenv("CFTEST_SET_IN_MAIN");
    EXPECT_EQ(pool.submit(env_of_worker, std::string("CFTEST_SET_IN_MAIN")).result(), "yes");
  }
  setrlimit(RLIMIT_CORE, &old_core);
  sigaction(SIGUSR1, &old_usr1, nullptr);
  umask(old_mask);
  std::filesystem::current_path(old_cwd);
  std::filesystem::remove(dir);
  cf::ProcessPoolExecutor after(1);
  EXPECT_EQ(after.submit(env_of_worker, std::string("CFTEST_SET_IN_MAIN")).result(), "<unset>");
  EXPECT_EQ(after.submit(cwd_of_worker).result(), old_cwd.string());
}

// What a worker could not be given back is checked instead: once the program has given up
// privileges (here no_new_privs, irreversible for this test's process), the early server, forked
// before, is not used.
TEST(ProcessPoolForkServer, AProgramThatGaveUpPrivilegesGetsAServerOfItsOwn) {
  SKIP_WITHOUT_EARLY_SERVER();
  const pid_t early = live_early_server();
  ASSERT_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
  cf::ProcessPoolExecutor pool(1);
  EXPECT_NE(pool.submit(pp::worker_parent).result(), early);
  EXPECT_EQ(hook::early_fork_server().pid, early) << "the early server is still there, unused";
}

// Pools created and destroyed from several threads at once, next to pools that never ask for a
// worker: the server serves every channel, closed or new, without waiting on a silent one.
TEST(ProcessPoolForkServer, ManyPoolsComeAndGoConcurrently) {
  const pid_t early = live_early_server();
  cf::ProcessPoolExecutor silent(1);  // connected, never submits
  constexpr int kThreads = 4, kPools = 20;
  std::atomic<int> served{0}, on_early{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPools; ++i) {
          cf::ProcessPoolExecutor quiet(1);  // another silent one, closed at once
          cf::ProcessPoolExecutor pool(1);
          if (pool.submit(pp::add, t, i).result() == t + i) served.fetch_add(1);
          if (pool.submit(pp::worker_parent).result() == early) on_early.fetch_add(1);
        }
      });
    }
  }
  EXPECT_EQ(served.load(), kThreads * kPools);
  if (early > 0) {
    EXPECT_EQ(on_early.load(), kThreads * kPools) << "every pool was served by the early server";
  }
}
