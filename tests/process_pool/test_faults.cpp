// Faults: crash and deadlock injection at every point of a call's journey (CPython
// test_deadlock.py), killed and broken workers (test_process_pool.py)
// and malformed frames from a worker. Every test must finish
// (no hang) and leave no process behind (the leak checker).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cfutures/cfutures.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "process/shm.hpp"
#include "process/testing.hpp"
#include "sanitizers.hpp"
#include "tasks.hpp"

namespace cf = concurrent::futures;
using namespace std::chrono_literals;
using pp::Trap;

namespace {

std::string broken_message(const std::string& how) {
  return "A process in the process pool was terminated abruptly while the future was running or pending (" + how + ")";
}

constexpr bool kSanitized = std::string_view(cftest::kSanitizer) != "none";

// The message of a future whose worker died of SIGSEGV. Under a sanitizer the sanitizer's
// handler catches the signal, reports it, and exits with its own code instead.
bool segfault_message(const std::string& what) {
  if (what == broken_message("signal SIGSEGV")) return true;
  const std::string exited = broken_message("exit code");  // "... (exit code)"
  return kSanitized && what.rfind(exited.substr(0, exited.size() - 1), 0) == 0;
}

template <class F>
std::string error_of(const F& future) {
  try {
    future.result();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Runs in a worker: damages the reply ring the way a buggy task scribbling over memory could,
// then waits to be killed.
int scribble(int how) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  unsigned char* base = nullptr;
  while (std::getline(maps, line)) {
    if (contains(line, "memfd:cfutures-worker")) {
      base = reinterpret_cast<unsigned char*>(std::stoull(line.substr(0, line.find('-')), nullptr, 16));
      break;
    }
  }
  if (base == nullptr) return -1;
  namespace pr = cf::detail::process;
  auto* header = reinterpret_cast<pr::SharedHeader*>(base);
  unsigned char* data = base + pr::kHeaderBytes + pr::kRingBytes;
  const std::uint64_t tail = header->reply.tail.load();
  if (how == 0) {  // an impossible index
    header->reply.tail.store(tail + 3 * pr::kRingBytes);
  } else if (how == 1) {  // a frame with a bad header hash
    std::memset(data + tail % pr::kRingBytes, 0x5A, 64);
    header->reply.tail.store(tail + 64);
  } else {  // a truncated frame: fewer bytes than a header
    header->reply.tail.store(tail + 8);
  }
  // Ring the pool's doorbell (the worker's one eventfd), as a worker does after writing.
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code error;
    if (contains(std::filesystem::read_symlink(fd.path(), error).string(), "eventfd")) {
      const std::uint64_t one = 1;
      (void)!write(std::stoi(fd.path().filename().string()), &one, sizeof one);
    }
  }
  pause();
  return 0;
}

// The worker's pid, then the call sleeps `ms`.
pid_t pid_of_only_worker(cf::ProcessPoolExecutor& pool) { return pool.submit(pp::worker_pid).result(); }

}  // namespace

// ---- Serialization failures fail one future only (CPython's tests, ) ----------

TEST(ProcessPoolFaults, ArgumentEncodingErrorFailsThatFutureOnly) {  // test_error_at_task_pickle
  cf::ProcessPoolExecutor pool(2);
  auto f = pool.submit(pp::take_trap, Trap{Trap::kThrowOnSave});
  EXPECT_THROW(f.result(), cf::SerializationError);
  const std::string what = error_of(f);
  EXPECT_TRUE(contains(what, "could not serialize the arguments")) << what;
  EXPECT_TRUE(contains(what, "trap sprung")) << what;
  EXPECT_EQ(pool.submit(pp::square, 3).result(), 9);
}

TEST(ProcessPoolFaults, ArgumentDecodingErrorFailsThatFutureOnly) {  // (decision 5)
  cf::ProcessPoolExecutor pool(2);
  auto f = pool.submit(pp::take_trap, Trap{Trap::kThrowOnLoad});
  EXPECT_THROW(f.result(), cf::SerializationError);
  EXPECT_TRUE(contains(error_of(f), "could not deserialize the arguments")) << error_of(f);
  EXPECT_EQ(pool.submit(pp::square, 3).result(), 9);
}

TEST(ProcessPoolFaults, ResultEncodingErrorFailsThatFutureOnly) {  // error_during_result_pickle
  cf::ProcessPoolExecutor pool(2);
  auto f = pool.submit(pp::make_trap, int{Trap::kThrowOnSave});
  EXPECT_THROW(f.result(), cf::SerializationError);
  EXPECT_TRUE(contains(error_of(f), "could not serialize the result")) << error_of(f);
  EXPECT_EQ(pool.submit(pp::square, 3).result(), 9);
}

TEST(ProcessPoolFaults, ResultDecodingErrorFailsThatFutureOnly) {  // (decision 5)
  cf::ProcessPoolExecutor pool(2);
  auto f = pool.submit(pp::make_trap, int{Trap::kThrowOnLoad});
  EXPECT_THROW(f.result(), cf::SerializationError);
  EXPECT_TRUE(contains(error_of(f), "could not deserialize the result")) << error_of(f);
  EXPECT_EQ(pool.submit(pp::square, 3).result(), 9);
}

// ---- A worker that dies breaks the pool () ----------------------

TEST(ProcessPoolFaults, ExitWhileDecodingArguments) {  // test_exit_at_task_unpickle
  cf::ProcessPoolExecutor pool(2);
  auto f = pool.submit(pp::take_trap, Trap{Trap::kExitOnLoad});
  EXPECT_THROW(f.result(), cf::BrokenProcessPool);
  EXPECT_EQ(error_of(f), broken_message("exit code 3"));
}

TEST(ProcessPoolFaults, CrashWhileDecodingArguments) {  // test_crash_at_task_unpickle
  cf::ProcessPoolExecutor pool(2);
  auto f = pool.submit(pp::take_trap, Trap{Trap::kCrashOnLoad});
  EXPECT_TRUE(segfault_message(error_of(f))) << error_of(f);
}

TEST(ProcessPoolFaults, CrashDuringCall) {  // test_crash_during_func_exec_on_worker
  cf::ProcessPoolExecutor pool(2);
  auto f = pool.submit(pp::raise_signal, SIGSEGV);
  EXPECT_THROW(f.result(), cf::BrokenProcessPool);
  EXPECT_TRUE(segfault_message(error_of(f))) << error_of(f);
  try {
    pool.submit(pp::square, 1);
    FAIL() << "submit on a broken pool";
  } catch (const cf::BrokenProcessPool& e) {
    if (!kSanitized) {
      EXPECT_STREQ(e.what(),
                   "A child process terminated abruptly, the process pool is not usable anymore (signal SIGSEGV)");
    }
  }
}

TEST(ProcessPoolFaults, ExitDuringCall) {  // test_exit_during_func_exec_on_worker
  cf::ProcessPoolExecutor pool(2);
  auto f = pool.submit([] { std::exit(1); });
  EXPECT_EQ(error_of(f), broken_message("exit code 1"));
}

TEST(ProcessPoolFaults, ThrowDuringCallIsDelivered) {  // test_error_during_func_exec_on_worker
  cf::ProcessPoolExecutor pool(2);
  EXPECT_THROW(pool.submit([] { throw std::runtime_error("boom"); }).result(), std::runtime_error);
  EXPECT_EQ(pool.submit(pp::square, 2).result(), 4);
}

TEST(ProcessPoolFaults, ExitWhileEncodingResult) {  // exit_during_result_pickle
  cf::ProcessPoolExecutor pool(2);
  EXPECT_EQ(error_of(pool.submit(pp::make_trap, int{Trap::kExitOnSave})), broken_message("exit code 3"));
}

TEST(ProcessPoolFaults, CrashWhileEncodingResult) {  // crash_during_result_pickle
  cf::ProcessPoolExecutor pool(2);
  const std::string what = error_of(pool.submit(pp::make_trap, int{Trap::kCrashOnSave}));
  EXPECT_TRUE(segfault_message(what)) << what;
}

TEST(ProcessPoolFaults, ExitCodeInMessage) {  // gh-139462
  cf::ProcessPoolExecutor pool(1);
  EXPECT_EQ(error_of(pool.submit(pp::exit_with, 99)), broken_message("exit code 99"));
}

TEST(ProcessPoolFaults, AbortInMessage) {
  cf::ProcessPoolExecutor pool(1);
  EXPECT_EQ(error_of(pool.submit([] { std::abort(); })), broken_message("signal SIGABRT"));
}

TEST(ProcessPoolFaults, DeathFailsEveryPendingAndRunningFuture) {  // CPython [verified]: 5 futures, 1 exit
  cf::ProcessPoolExecutor pool(2);
  auto dying = pool.submit([] {
    std::this_thread::sleep_for(200ms);
    pp::exit_with(1);
  });
  std::vector<cf::Future<int>> futures;  // running in the other worker, sent, or still pending
  for (int i = 0; i < 4; ++i) futures.push_back(pool.submit(pp::sleep_ms, 3000));
  EXPECT_THROW(dying.result(), cf::BrokenProcessPool);
  for (auto& f : futures) EXPECT_THROW(f.result(), cf::BrokenProcessPool);
  EXPECT_THROW(pool.submit(pp::square, 1), cf::BrokenProcessPool);
}

TEST(ProcessPoolFaults, KilledChild) {  // test_killed_child
  cf::ProcessPoolExecutor pool(1);
  const pid_t worker = pid_of_only_worker(pool);
  auto f = pool.submit(pp::sleep_ms, 3000);
  std::this_thread::sleep_for(50ms);
  ASSERT_EQ(kill(worker, SIGTERM), 0);
  EXPECT_EQ(error_of(f), broken_message("signal SIGTERM"));
  EXPECT_THROW(pool.submit(pp::square, 1), cf::BrokenProcessPool);
}

TEST(ProcessPoolFaults, EachFutureHasItsOwnException) {  // test_broken_process_pool_traceback
  cf::ProcessPoolExecutor pool(1);
  const pid_t worker = pid_of_only_worker(pool);
  std::vector<cf::Future<int>> futures;
  for (int i = 0; i < 3; ++i) futures.push_back(pool.submit(pp::sleep_ms, 3000));
  std::this_thread::sleep_for(50ms);
  kill(worker, SIGKILL);
  std::set<const void*> objects;
  for (auto& f : futures) {
    try {
      f.result();
    } catch (const cf::BrokenProcessPool& e) {
      objects.insert(&e);
      EXPECT_STREQ(e.what(), broken_message("signal SIGKILL").c_str());
    }
  }
  EXPECT_EQ(objects.size(), 3u);
}

TEST(ProcessPoolFaults, IdleWorkerDeathBreaksThePool) {
  cf::ProcessPoolExecutor pool(1);
  const pid_t worker = pid_of_only_worker(pool);
  kill(worker, SIGKILL);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  bool broken = false;
  while (!broken && std::chrono::steady_clock::now() < deadline) {
    try {
      pool.submit(pp::square, 1).result();
      std::this_thread::sleep_for(5ms);
    } catch (const cf::BrokenProcessPool&) {
      broken = true;
    }
  }
  EXPECT_TRUE(broken);
}

TEST(ProcessPoolFaults, OutOfMemoryInATaskIsBadAlloc) {
#if defined(CFTEST_ASAN) || defined(CFTEST_TSAN)
  GTEST_SKIP() << "sanitizers reserve more address space than the limit allows";
#else
  cf::ProcessPoolExecutor pool(1);
  auto f = pool.submit([] {
    rlimit limit{std::size_t{1} << 30, std::size_t{1} << 30};
    setrlimit(RLIMIT_AS, &limit);
    std::vector<char> huge(std::size_t{4} << 30);
    asm volatile("" : : "r"(huge.data()) : "memory");  // keep the allocation (clang may elide it)
    return huge.size();
  });
  EXPECT_THROW(f.result(), std::bad_alloc);
#endif
}

// ---- Shutdown and faults together () ------------------------------------------------

TEST(ProcessPoolFaults, CrashAfterShutdown) {  // test_shutdown_deadlock
  cf::ProcessPoolExecutor pool(2);
  auto f = pool.submit([] {
    std::this_thread::sleep_for(100ms);
    ::raise(SIGSEGV);
  });
  pool.shutdown(true);
  EXPECT_TRUE(segfault_message(error_of(f))) << error_of(f);
}

TEST(ProcessPoolFaults, SerializationErrorAfterShutdownNoWait) {  // test_shutdown_deadlock_pickle
  cf::ProcessPoolExecutor pool(2);
  auto f = pool.submit(pp::take_trap, Trap{Trap::kThrowOnLoad});
  pool.shutdown(false);
  EXPECT_THROW(f.result(), cf::SerializationError);
}

TEST(ProcessPoolFaults, CrashWhileABigPayloadIsWritten) {  // test_crash_big_data, gh-94777
  cf::ProcessPoolExecutor pool(1);
  auto crash = pool.submit([] {
    std::this_thread::sleep_for(200ms);
    ::raise(SIGSEGV);
  });
  // Either the future fails, or (if the crash came first) submit itself refuses.
  EXPECT_THROW(pool.submit([](std::vector<char> v) { return v.size(); }, std::vector<char>(16 << 20, 'x')).result(),
               cf::BrokenProcessPool);
  EXPECT_THROW(crash.result(), cf::BrokenProcessPool);
}

TEST(ProcessPoolFaults, SubmitNeverBlocksOnABusyReplyThread) {  // gh-105829
  cf::ProcessPoolExecutor pool(2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // The callback runs in the pool's reply thread and holds it up.
  pool.submit(pp::square, 1).add_done_callback([released](cf::Future<int>) { released.wait(); });
  std::this_thread::sleep_for(50ms);
  std::vector<cf::Future<int>> futures;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) futures.push_back(pool.submit(pp::square, i));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  release.set_value();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(futures[i].result(), i * i);
}

// ---- Malformed frames -------------------------------------------------

TEST(ProcessPoolFaults, MalformedFrameIsADeadWorker) {
  for (int how : {0, 1, 2}) {
    cf::ProcessPoolExecutor pool(2);
    auto other = pool.submit(pp::sleep_ms, 3000);
    auto f = pool.submit(scribble, how);
    EXPECT_THROW(f.result(), cf::BrokenProcessPool) << how;
    EXPECT_TRUE(contains(error_of(f), "malformed")) << error_of(f);
    EXPECT_THROW(other.result(), cf::BrokenProcessPool) << how;
  }
}

// ---- Initializer failures (CPython test_init.py ) ------------------------------------

TEST(ProcessPoolFaults, InitializerThrows) {
  cf::ProcessPoolExecutor pool(
      {.max_workers = 2, .initializer = [] { throw std::runtime_error("error in initializer"); }});
  cf::Future<int> f;
  try {
    f = pool.submit(pp::square, 1);
  } catch (const cf::BrokenProcessPool&) {
    return;  // broken before this submit: also acceptable (CPython: submit may raise)
  }
  EXPECT_THROW(f.result(), cf::BrokenExecutor);
  EXPECT_EQ(error_of(f), broken_message("exit code 1: its initializer threw std::runtime_error: error in initializer"));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  bool refused = false;
  while (!refused && std::chrono::steady_clock::now() < deadline) {
    try {
      pool.submit(pp::square, 1);
      std::this_thread::sleep_for(5ms);
    } catch (const cf::BrokenProcessPool&) {
      refused = true;
    }
  }
  EXPECT_TRUE(refused);
}

TEST(ProcessPoolFaults, InitializerCrashes) {
  cf::ProcessPoolExecutor pool({.max_workers = 1, .initializer = [] { std::abort(); }});
  EXPECT_EQ(error_of(pool.submit(pp::square, 1)), broken_message("signal SIGABRT"));
}

// ---- Spawn failures () --------------------------------------------------------------

TEST(ProcessPoolFaults, WorkerThatCannotStartBreaksThePool) {
  cf::detail::process::testing::fail_spawns_after(0);
  cf::ProcessPoolExecutor pool(2);
  auto f = pool.submit(pp::square, 2);
  cf::detail::process::testing::fail_spawns_after(-1);
  EXPECT_THROW(f.result(), cf::BrokenProcessPool);
  EXPECT_TRUE(contains(error_of(f), "could not be started")) << error_of(f);
}

TEST(ProcessPoolFaults, ReplacementThatCannotStartBreaksThePool) {  // with max_tasks_per_child
  cf::ProcessPoolExecutor pool({.max_workers = 1, .max_tasks_per_child = 1});
  cf::detail::process::testing::fail_spawns_after(1);
  auto first = pool.submit(pp::square, 2);
  auto second = pool.submit(pp::square, 3);
  EXPECT_EQ(first.result(), 4);
  EXPECT_THROW(second.result(), cf::BrokenProcessPool);
  cf::detail::process::testing::fail_spawns_after(-1);
  EXPECT_TRUE(contains(error_of(second), "could not be started")) << error_of(second);
}

// Both kinds of fork server (forkserver.hpp): the early one, shared by the process's pools, and
// a pool's own (bypass: true).
TEST(ProcessPoolFaults, ForkServerKilled) {
  namespace hook = cf::detail::process::testing;
  for (bool bypass : {false, true}) {
    if (!bypass && hook::early_fork_server().pid < 0) continue;  // none in this process
    hook::bypass_early_fork_server(bypass);
    cf::ProcessPoolExecutor pool(2);
    hook::bypass_early_fork_server(false);
    const pid_t server = pool.submit(pp::worker_parent).result();
    auto f = pool.submit(pp::sleep_ms, 3000);
    ASSERT_EQ(kill(server, SIGKILL), 0);
    EXPECT_THROW(f.result(), cf::BrokenProcessPool) << (bypass ? "own server" : "early server");
    EXPECT_THROW(pool.submit(pp::ident, 1), cf::BrokenProcessPool);
  }
}

// ---- terminate_workers / kill_workers () ---------------------------------------

TEST(ProcessPoolFaults, TerminateAndKillWorkers) {  // test_force_shutdown_workers
  for (int signal : {SIGTERM, SIGKILL}) {
    const std::string mark =
        (std::filesystem::temp_directory_path() / ("cf_finished." + std::to_string(getpid()))).string();
    cf::ProcessPoolExecutor pool(1);
    auto running = pool.submit(
        [](std::string path) {
          std::this_thread::sleep_for(3s);
          std::ofstream(path) << "finished";
        },
        mark);
    std::vector<cf::Future<int>> queued;
    for (int i = 0; i < 5; ++i) queued.push_back(pool.submit(pp::sleep_ms, 1));
    std::this_thread::sleep_for(100ms);
    const auto start = std::chrono::steady_clock::now();
    if (signal == SIGTERM) {
      pool.terminate_workers();
    } else {
      pool.kill_workers();
    }
    EXPECT_THROW(running.result(), cf::BrokenProcessPool);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(error_of(running), broken_message(signal == SIGTERM ? "signal SIGTERM" : "signal SIGKILL"));
    int cancelled = 0;
    for (auto& f : queued) {
      try {
        f.result();
      } catch (const cf::CancelledError&) {
        ++cancelled;
      } catch (const cf::BrokenProcessPool&) {  // already sent to the worker (running)
      }
    }
    EXPECT_GE(cancelled, 4);
    EXPECT_THROW(pool.submit(pp::square, 1), cf::Error);  // : the pool takes nothing more
    pool.shutdown();
    EXPECT_FALSE(std::filesystem::exists(mark));
  }
}

TEST(ProcessPoolFaults, ForceShutdownOnABrokenPool) {  //,
  cf::ProcessPoolExecutor pool(1);
  EXPECT_THROW(pool.submit(pp::exit_with, 1).result(), cf::BrokenProcessPool);
  EXPECT_NO_THROW(pool.terminate_workers());
  EXPECT_NO_THROW(pool.kill_workers());
}

TEST(ProcessPoolFaults, ForceShutdownBeforeAnyWorker) {  //,
  cf::ProcessPoolExecutor pool(2);
  EXPECT_NO_THROW(pool.kill_workers());
  EXPECT_EQ(pool.worker_count(), 0u);
  EXPECT_THROW(pool.submit(pp::square, 1), cf::ExecutorShutdown);
}
