// Fault injection for cf::ProcessPoolExecutor: a fault at every step of a call's
// journey -- encode the arguments, send them, receive them, decode them, run, encode the
// result, send it back, decode it -- and during start, worker recycling (max_tasks_per_child)
// and shutdown. The faults: the step throws, the worker exits, crashes (SIGSEGV), is killed
// (SIGKILL, from inside or from outside), aborts, or dies half-way through a frame (a
// truncated frame: the payloads are larger than the 256 KiB rings, so a frame crosses in many
// pieces). Every scenario runs with other calls in flight and checks that it ends as
// documented (API.md "Decisions" 5 and 6, include/cfutures/process_pool.hpp):
//
//   - a value that cannot be (de)serialized, on either side, fails only its own future with
//     cf::SerializationError, and the pool stays usable;
//   - an exception thrown by the task arrives as its own type;
//   - a worker that dies breaks the pool: every pending and running future fails with its own
//     BrokenProcessPool saying how the worker died, later submits throw it;
//
// and in every case: no future hangs (each must be done within a deadline), and (the leak
// listener) no worker, fork server, thread or descriptor is left behind.
//
// Faults come from user-level means (callables and types whose serialization misbehaves,
// kill(2) from the test) plus the pool's one testing hook, fail_spawns_after().
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cfutures/cfutures.hpp>
#include <cfutures/process_pool.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "leak_check.hpp"
#include "process/testing.hpp"
#include "stress_support.hpp"

namespace cf = concurrent::futures;

namespace faults {

using namespace std::chrono_literals;

// The faults a step can suffer.
enum Fault : int { kNone = 0, kThrow, kExit, kSegv, kKill, kAbort };
const char* fault_name(int f) {
  static const char* names[] = {"none", "throw", "exit(3)", "SIGSEGV", "SIGKILL", "abort"};
  return names[f];
}

// Injects `fault` here (in whichever process runs this).
inline void act(int fault) {
  switch (fault) {
    case kThrow:
      throw std::runtime_error("injected fault");
    case kExit:
      _exit(3);
    case kSegv:
      ::raise(SIGSEGV);
      break;
    case kKill:
      ::raise(SIGKILL);
      break;
    case kAbort:
      std::abort();
    default:
      break;
  }
}

// A value whose save or load misbehaves: as an argument, save runs in the caller and load in
// the worker; as a result, the other way round.
struct Trap {
  int on_save = kNone;
  int on_load = kNone;
  template <class Archive>
  void save(Archive& ar) const {
    act(on_save);
    ar(on_save, on_load);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(on_save, on_load);
    act(on_load);
  }
};

int take_arg(Trap) { return 7; }
Trap make_result(int on_save, int on_load) { return Trap{on_save, on_load}; }
int run_fault(int fault) {
  act(fault);
  return 7;
}
int ident(int x) { return x; }
int worker_pid() { return static_cast<int>(getpid()); }
std::size_t size_of(std::string s) { return s.size(); }

// A shared board (SharedCounters) through which tasks in workers tell the test their pid and
// wait for its go: slot `at` receives the pid, slot `at + 1` the go.
inline int block_until_released(std::string board, int at) {
  cfstress::counter_in(board, static_cast<std::size_t>(at)).store(static_cast<std::uint32_t>(getpid()));
  const auto give_up = std::chrono::steady_clock::now() + 60s;  // never outlive a failed test
  while (cfstress::counter_in(board, static_cast<std::size_t>(at) + 1).load() == 0 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  return at;
}

// A large result that announces (pid in slot `at`) when the worker starts encoding it.
struct BigResult {
  std::string board;
  int at = 0;
  std::string blob;
  template <class Archive>
  void save(Archive& ar) const {
    if (!board.empty())
      cfstress::counter_in(board, static_cast<std::size_t>(at)).store(static_cast<std::uint32_t>(getpid()));
    ar(blob);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(blob);
  }
};
BigResult make_big(std::string board, int at, std::size_t bytes) {
  return BigResult{board, at, std::string(bytes, 'r')};
}

// How long a future may take before the test calls it a hang (sanitizers are slower).
constexpr auto kHang = 60s;

// What a future ended with.
struct Ending {
  enum Kind { kValue, kSerialization, kTaskError, kBroken, kCancelled, kOther, kHung } kind = kOther;
  std::string what;
  std::exception_ptr error;
};

template <class T>
Ending ending_of(const cf::Future<T>& f) {
  Ending e;
  try {
    e.error = f.exception(kHang);
    if (!e.error) {
      e.kind = Ending::kValue;
      return e;
    }
    std::rethrow_exception(e.error);
  } catch (const cf::TimeoutError&) {
    e.kind = Ending::kHung;
  } catch (const cf::CancelledError&) {
    e.kind = Ending::kCancelled;
  } catch (const cf::BrokenProcessPool& b) {
    e.kind = Ending::kBroken, e.what = b.what();
  } catch (const cf::SerializationError& s) {
    e.kind = Ending::kSerialization, e.what = s.what();
  } catch (const std::runtime_error& r) {
    e.kind = Ending::kTaskError, e.what = r.what();
  } catch (const std::exception& x) {
    e.kind = Ending::kOther, e.what = std::string(typeid(x).name()) + ": " + x.what();
  }
  return e;
}

const char* kind_name(Ending::Kind k) {
  static const char* names[] = {"value", "SerializationError", "task error", "BrokenProcessPool", "cancelled", "other",
                                "HUNG"};
  return names[k];
}

// The text a BrokenProcessPool should carry for a worker that died of `fault`.
bool names_death(const std::string& what, int fault) {
  switch (fault) {
    case kExit:
      return what.find("exit code 3") != std::string::npos;
    case kKill:
      return what.find("signal SIGKILL") != std::string::npos;
    case kAbort:
      return what.find("signal SIGABRT") != std::string::npos;
    case kSegv:
      // Under a sanitizer its own SIGSEGV handler reports, then exits with a code.
      return what.find("signal SIGSEGV") != std::string::npos ||
             (std::string(cfstress::kSanitizer) != "none" && what.find("exit code") != std::string::npos);
    default:
      return false;
  }
}

// Polls until `slot` of the board is non-zero (a worker wrote its pid); returns it, or 0.
pid_t await_pid(const cfstress::SharedCounters& board, std::size_t slot) {
  const auto give_up = std::chrono::steady_clock::now() + kHang;
  while (board[slot].load() == 0 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  return static_cast<pid_t>(board[slot].load());
}

// Other calls in flight around a fault: `n` idents submitted now; checked by verify().
struct Load {
  std::vector<cf::Future<int>> futures;  // futures[i] is ident(i)
  int refused = 0;
  void add(cf::ProcessPoolExecutor& pool, int n) {
    for (int i = 0; i < n; ++i) {
      try {
        futures.push_back(pool.submit(ident, static_cast<int>(futures.size())));
      } catch (const cf::BrokenProcessPool&) {
        ++refused;
        return;  // refused from now on
      }
    }
  }
  // Each call returned its value, or (if the pool broke) failed with BrokenProcessPool.
  void verify(bool may_break) const {
    for (std::size_t i = 0; i < futures.size(); ++i) {
      const Ending e = ending_of(futures[i]);
      ASSERT_NE(e.kind, Ending::kHung) << "a call in flight around the fault hung";
      if (e.kind == Ending::kValue) {
        ASSERT_EQ(futures[i].result(), static_cast<int>(i)) << "call " << i;
      } else {
        ASSERT_TRUE(may_break && e.kind == Ending::kBroken)
            << "a call in flight around the fault ended with " << kind_name(e.kind) << ": " << e.what;
      }
    }
    if (!may_break) {
      ASSERT_EQ(refused, 0);
    }
  }
};

// A call that blocks a worker until released (or until the worker dies), with that worker's
// pid. Declared after its pool, it releases the call before the pool's destructor waits.
struct BlockedWorker {
  cfstress::SharedCounters board{2};
  cf::Future<int> call;
  pid_t pid = 0;
  explicit BlockedWorker(cf::ProcessPoolExecutor& pool)
      : call(pool.submit(block_until_released, board.path(), 0)), pid(await_pid(board, 0)) {}
  ~BlockedWorker() { release(); }
  void release() { board[1] = 1; }
};

// Counts the scenarios and repetitions run, printed by the environment at the end.
std::atomic<int> scenarios{0}, repetitions{0};

int reps() { return cfstress::scaled(8, 2); }

// ---------------------------------------------------------------------------------------------
// The journey: a fault in one step of one call, with other calls in flight.

struct Journey {
  const char* step;
  int fault;
  Ending::Kind expect;  // for the faulty call
};

void PrintTo(const Journey& j, std::ostream* out) { *out << j.step << "/" << fault_name(j.fault); }

class CallJourney : public testing::TestWithParam<Journey> {};

TEST_P(CallJourney, EndsAsDocumented) {
  const Journey j = GetParam();
  ++scenarios;
  for (int rep = 0; rep < reps(); ++rep) {
    ++repetitions;
    SCOPED_TRACE(std::string("step ") + j.step + ", fault " + fault_name(j.fault) + ", repetition " +
                 std::to_string(rep));
    cf::ProcessPoolExecutor pool(2);
    Load load;
    load.add(pool, 8 + rep * 4);
    std::optional<Ending> ending;
    const std::string step = j.step;
    if (step == "encode-arguments") {
      ending = ending_of(pool.submit(take_arg, Trap{j.fault, kNone}));
    } else if (step == "decode-arguments") {
      ending = ending_of(pool.submit(take_arg, Trap{kNone, j.fault}));
    } else if (step == "run") {
      ending = ending_of(pool.submit(run_fault, j.fault));
    } else if (step == "encode-result") {
      ending = ending_of(pool.submit(make_result, j.fault, kNone));
    } else if (step == "decode-result") {
      ending = ending_of(pool.submit(make_result, kNone, j.fault));
    }
    ASSERT_TRUE(ending.has_value()) << "unknown step " << step;
    const bool breaks = j.expect == Ending::kBroken;
    load.add(pool, 8);
    ASSERT_NE(ending->kind, Ending::kHung) << "the faulty call hung";
    ASSERT_EQ(ending->kind, j.expect) << "the faulty call ended with " << kind_name(ending->kind) << ": "
                                      << ending->what;
    if (breaks) {
      EXPECT_TRUE(names_death(ending->what, j.fault))
          << "BrokenProcessPool does not say how the worker died: " << ending->what;
      EXPECT_THROW(pool.submit(ident, 1), cf::BrokenProcessPool) << "submit on a broken pool";
    } else {
      if (j.expect == Ending::kTaskError) {
        EXPECT_EQ(ending->what, "injected fault");
      }
      EXPECT_EQ(pool.submit(ident, 41).result(kHang), 41) << "the pool is still usable";
    }
    load.verify(breaks);
    pool.shutdown();
    EXPECT_EQ(pool.worker_count(), 0u);
  }
}

// Steps on the caller's side can only throw: an exit or a crash there is the caller's own.
INSTANTIATE_TEST_SUITE_P(
    Steps, CallJourney,
    testing::Values(Journey{"encode-arguments", kThrow, Ending::kSerialization},
                    Journey{"decode-arguments", kThrow, Ending::kSerialization},
                    Journey{"decode-arguments", kExit, Ending::kBroken},
                    Journey{"decode-arguments", kSegv, Ending::kBroken},
                    Journey{"decode-arguments", kKill, Ending::kBroken},
                    Journey{"decode-arguments", kAbort, Ending::kBroken}, Journey{"run", kThrow, Ending::kTaskError},
                    Journey{"run", kExit, Ending::kBroken}, Journey{"run", kSegv, Ending::kBroken},
                    Journey{"run", kKill, Ending::kBroken}, Journey{"run", kAbort, Ending::kBroken},
                    Journey{"encode-result", kThrow, Ending::kSerialization},
                    Journey{"encode-result", kExit, Ending::kBroken}, Journey{"encode-result", kSegv, Ending::kBroken},
                    Journey{"encode-result", kKill, Ending::kBroken}, Journey{"encode-result", kAbort, Ending::kBroken},
                    Journey{"decode-result", kThrow, Ending::kSerialization}),
    [](const testing::TestParamInfo<Journey>& info) {
      std::string name = std::string(info.param.step) + "_" + fault_name(info.param.fault);
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

// ---------------------------------------------------------------------------------------------
// Deaths in the middle of a frame (send, receive, send back), and kills from outside.

constexpr std::size_t kBig = 8u << 20;  // 8 MiB: 32 ring-fulls

// Send: the only worker is busy, so an 8 MiB argument fills its request ring and waits
// half-written; the worker is then killed. Both calls fail with BrokenProcessPool, nothing
// waits for the rest of the frame.
TEST(ProcessPoolFaults, WorkerKilledWhileAnArgumentIsHalfSent) {
  ++scenarios;
  for (int rep = 0; rep < reps(); ++rep) {
    ++repetitions;
    cf::ProcessPoolExecutor pool(1);
    BlockedWorker blocked(pool);
    ASSERT_GT(blocked.pid, 0) << "the blocking task never started";
    auto big = pool.submit(size_of, std::string(kBig, 'a'));
    Load load;
    load.add(pool, 4);
    ASSERT_EQ(::kill(blocked.pid, SIGKILL), 0);
    const Ending b = ending_of(blocked.call), g = ending_of(big);
    ASSERT_EQ(b.kind, Ending::kBroken) << kind_name(b.kind) << ": " << b.what;
    EXPECT_TRUE(names_death(b.what, kKill)) << b.what;
    ASSERT_EQ(g.kind, Ending::kBroken) << kind_name(g.kind) << ": " << g.what;
    EXPECT_NE(b.error, g.error) << "each failed future carries its own exception object";
    load.verify(true);
  }
}

// Receive and send back: the worker is killed at a seeded moment while an 8 MiB argument
// streams in, or while an 8 MiB result streams out (truncated frames on either side). The
// call ends with its value (if it beat the kill) or BrokenProcessPool; never hangs.
TEST(ProcessPoolFaults, WorkerKilledWhileLargeFramesStream) {
  ++scenarios;
  const std::uint64_t seed = cfstress::base_seed();
  SCOPED_TRACE(cfstress::reproduction_line(seed));
  cfstress::Rng rng(seed ^ 0xf4a1);
  int broken = 0, finished = 0;
  const int n = cfstress::scaled(16, 4);
  for (int rep = 0; rep < n; ++rep) {
    ++repetitions;
    const bool result_way = rep % 2 == 1;
    cfstress::SharedCounters board(4);
    cf::ProcessPoolExecutor pool(1);
    pid_t pid = 0;
    std::optional<Ending> ending;
    if (!result_way) {
      pid = static_cast<pid_t>(pool.submit(worker_pid).result(kHang));  // start the worker, learn its pid
      auto big = pool.submit(size_of, std::string(kBig, 'a'));
      cfstress::spin(rng.below(20'000'000));  // up to ~20 ms: before, during or after the transfer
      ::kill(pid, SIGKILL);
      ending = ending_of(big);
      if (ending->kind == Ending::kValue) {
        EXPECT_EQ(big.result(), kBig);
      }
    } else {
      auto big = pool.submit(make_big, board.path(), 0, kBig);
      pid = await_pid(board, 0);  // the worker is encoding the result
      ASSERT_GT(pid, 0);
      cfstress::spin(rng.below(20'000'000));
      ::kill(pid, SIGKILL);
      ending = ending_of(big);
      if (ending->kind == Ending::kValue) {
        EXPECT_EQ(big.result().blob.size(), kBig);
      }
    }
    ASSERT_TRUE(ending->kind == Ending::kValue || ending->kind == Ending::kBroken)
        << (result_way ? "result" : "argument") << " way, repetition " << rep << ": " << kind_name(ending->kind) << ": "
        << ending->what;
    (ending->kind == Ending::kBroken ? broken : finished)++;
    // The worker is dead either way: later calls fail (or run, if the pool has not noticed).
    Load after;
    after.add(pool, 2);
    after.verify(true);
  }
  std::printf("[faults] large frames cut by SIGKILL: %d calls broken, %d finished first\n", broken, finished);
}

// Run: a worker killed from outside while it runs a call; pending calls fail too.
TEST(ProcessPoolFaults, WorkerKilledFromOutsideWhileRunning) {
  ++scenarios;
  for (int rep = 0; rep < reps(); ++rep) {
    ++repetitions;
    cf::ProcessPoolExecutor pool(2);
    BlockedWorker blocked(pool);
    ASSERT_GT(blocked.pid, 0);
    Load load;
    load.add(pool, 10);
    ASSERT_EQ(::kill(blocked.pid, rep % 2 == 0 ? SIGKILL : SIGTERM), 0);
    const Ending b = ending_of(blocked.call);
    ASSERT_EQ(b.kind, Ending::kBroken) << kind_name(b.kind) << ": " << b.what;
    EXPECT_NE(b.what.find(rep % 2 == 0 ? "signal SIGKILL" : "signal SIGTERM"), std::string::npos) << b.what;
    load.verify(true);
  }
}

// kill_workers() / terminate_workers() while calls run and wait: running ones fail with
// BrokenProcessPool, pending ones are cancelled, the pool refuses new work; nothing hangs.
TEST(ProcessPoolFaults, ForceShutdownWhileRunningAndPending) {
  ++scenarios;
  for (int rep = 0; rep < reps() * 2; ++rep) {
    ++repetitions;
    cf::ProcessPoolExecutor pool(2);
    BlockedWorker b0(pool), b1(pool);
    ASSERT_GT(b0.pid, 0);
    ASSERT_GT(b1.pid, 0);
    Load load;
    load.add(pool, 12);
    rep % 2 == 0 ? pool.kill_workers() : pool.terminate_workers();
    for (auto* b : {&b0, &b1}) {
      const Ending e = ending_of(b->call);
      ASSERT_EQ(e.kind, Ending::kBroken) << kind_name(e.kind) << ": " << e.what;
    }
    for (const auto& f : load.futures) {
      const Ending e = ending_of(f);
      ASSERT_TRUE(e.kind == Ending::kCancelled || e.kind == Ending::kBroken || e.kind == Ending::kValue)
          << kind_name(e.kind) << ": " << e.what;
    }
    EXPECT_ANY_THROW(pool.submit(ident, 1));
    pool.shutdown();
    EXPECT_EQ(pool.worker_count(), 0u);
  }
}

// ---------------------------------------------------------------------------------------------
// Start.

// The fork server cannot fork a worker (the pool's testing hook): the first spawn, or the
// second one while the first worker is busy. Calls fail with BrokenProcessPool ("could not be
// started"), nothing hangs -- neither the calls nor the shutdown in the pool's destructor.
void spawn_fails_after(int allowed) {
  ++scenarios;
  ++repetitions;
  namespace hook = cf::detail::process::testing;
  hook::fail_spawns_after(allowed);
  struct Reset {
    ~Reset() { cf::detail::process::testing::fail_spawns_after(-1); }
  } reset;
  cf::ProcessPoolExecutor pool(2);
  std::optional<BlockedWorker> blocked;
  if (allowed == 1) {
    blocked.emplace(pool);
    ASSERT_GT(blocked->pid, 0);
  }
  std::optional<Ending> e;
  try {
    e = ending_of(pool.submit(ident, 5));
  } catch (const cf::BrokenProcessPool& b) {
    e = Ending{Ending::kBroken, b.what(), nullptr};
  }
  if (blocked) blocked->release();  // it may finish or fail with the pool
  ASSERT_EQ(e->kind, Ending::kBroken) << kind_name(e->kind) << ": " << e->what;
  EXPECT_NE(e->what.find("could not be started"), std::string::npos) << e->what;
  if (blocked) {
    const Ending b = ending_of(blocked->call);
    EXPECT_TRUE(b.kind == Ending::kValue || b.kind == Ending::kBroken) << kind_name(b.kind);
  }
  std::thread shutter([&pool] { pool.shutdown(true); });
  shutter.join();  // a hang here: the pool's destructor never returns after a failed spawn
}

TEST(ProcessPoolFaults, FirstWorkerSpawnFails) { spawn_fails_after(0); }
TEST(ProcessPoolFaults, SecondWorkerSpawnFails) { spawn_fails_after(1); }

// The initializer throws, exits, or is killed: the pool is broken, its calls fail.
void faulty_initializer(int fault) { act(fault); }

TEST(ProcessPoolFaults, InitializerFails) {
  for (int fault : {kThrow, kExit, kKill, kSegv}) {
    ++scenarios;
    ++repetitions;
    SCOPED_TRACE(std::string("initializer fault ") + fault_name(fault));
    cf::ProcessPoolExecutor pool(
        cf::ProcessPoolOptions{.max_workers = 2, .initializer = cf::ProcessInitializer(faulty_initializer, fault)});
    std::vector<Ending> endings;
    for (int i = 0; i < 6; ++i) {
      try {
        endings.push_back(ending_of(pool.submit(ident, i)));
      } catch (const cf::BrokenProcessPool& b) {
        endings.push_back(Ending{Ending::kBroken, b.what(), nullptr});
      }
    }
    for (const auto& e : endings) ASSERT_EQ(e.kind, Ending::kBroken) << kind_name(e.kind) << ": " << e.what;
    if (fault != kThrow) {
      EXPECT_TRUE(names_death(endings[0].what, fault)) << endings[0].what;
    }
  }
}

// The fork server is killed from outside after the first worker started: calls that need a
// new worker fail with BrokenProcessPool; the running ones finish or fail; nothing hangs, and
// no zombie is left (the leak listener checks).
TEST(ProcessPoolFaults, ForkServerKilled) {
  ++scenarios;
  for (int rep = 0; rep < reps(); ++rep) {
    ++repetitions;
    cf::ProcessPoolExecutor pool(2);
    BlockedWorker blocked(pool);
    ASSERT_GT(blocked.pid, 0);
    // The worker's parent: the early fork server in the first repetition (shared by the
    // process's pools), then, with that one dead, the pool's own.
    const pid_t server = cftest::process_stat(blocked.pid).parent;
    ASSERT_GT(server, 1);
    ASSERT_EQ(::kill(server, SIGKILL), 0);
    Load load;
    load.add(pool, 6);  // the second worker cannot be forked any more
    blocked.release();
    const Ending b = ending_of(blocked.call);
    EXPECT_TRUE(b.kind == Ending::kValue || b.kind == Ending::kBroken) << kind_name(b.kind) << ": " << b.what;
    load.verify(true);
  }
}

// ---------------------------------------------------------------------------------------------
// Recycling (max_tasks_per_child).

// Replacement workers cannot be spawned: the calls waiting for one fail with
// BrokenProcessPool instead of waiting forever (CPython gh-115634 family, test ).
TEST(ProcessPoolFaults, RecycledWorkerCannotBeReplaced) {
  ++scenarios;
  namespace hook = cf::detail::process::testing;
  for (int allowed : {1, 2}) {
    ++repetitions;
    hook::fail_spawns_after(allowed);
    {
      cf::ProcessPoolExecutor pool(cf::ProcessPoolOptions{.max_workers = 1, .max_tasks_per_child = 1});
      std::vector<cf::Future<int>> fs;
      for (int i = 0; i < 6; ++i) {
        try {
          fs.push_back(pool.submit(ident, i));
        } catch (const cf::BrokenProcessPool&) {
        }
      }
      int values = 0, broken = 0;
      for (std::size_t i = 0; i < fs.size(); ++i) {
        const Ending e = ending_of(fs[i]);
        ASSERT_TRUE(e.kind == Ending::kValue || e.kind == Ending::kBroken) << kind_name(e.kind) << ": " << e.what;
        if (e.kind == Ending::kValue) {
          EXPECT_EQ(fs[i].result(), static_cast<int>(i));
          ++values;
        } else {
          ++broken;
        }
      }
      EXPECT_LE(values, allowed) << "more calls ran than workers could be started";
      EXPECT_GE(broken, 1);
    }
    hook::fail_spawns_after(-1);
  }
}

// A worker dies on its last call before recycling (and, separately, right after a recycle):
// the pool breaks cleanly, with pending calls failed.
int die_on_call(std::string board, int fault) {
  // The board counts calls across workers; the third call dies.
  if (cfstress::counter_in(board, 0).fetch_add(1) + 1 == 3) act(fault);
  return 1;
}

TEST(ProcessPoolFaults, WorkerDiesAroundRecycling) {
  for (int per_child : {1, 2, 3}) {
    ++scenarios;
    ++repetitions;
    SCOPED_TRACE("max_tasks_per_child " + std::to_string(per_child));
    cfstress::SharedCounters board(2);
    cf::ProcessPoolExecutor pool(cf::ProcessPoolOptions{.max_workers = 2, .max_tasks_per_child = per_child});
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 10; ++i) {
      try {
        fs.push_back(pool.submit(die_on_call, board.path(), kKill));
      } catch (const cf::BrokenProcessPool&) {
      }
    }
    int broken = 0;
    for (const auto& f : fs) {
      const Ending e = ending_of(f);
      ASSERT_TRUE(e.kind == Ending::kValue || e.kind == Ending::kBroken) << kind_name(e.kind) << ": " << e.what;
      broken += e.kind == Ending::kBroken ? 1 : 0;
    }
    EXPECT_GE(broken, 1) << "the third call killed its worker";
  }
}

// Recycling with an immediate shutdown(wait=false), then with kill_workers() racing: every
// call ends with its value (shutdown) or value/cancelled/broken (kill), none hangs (CPython
// tests ).
TEST(ProcessPoolFaults, RecyclingRacesShutdownAndKill) {
  ++scenarios;
  for (int rep = 0; rep < reps() * 2; ++rep) {
    ++repetitions;
    const bool kill = rep % 2 == 1;
    std::vector<cf::Future<int>> fs;
    {
      cf::ProcessPoolExecutor pool(cf::ProcessPoolOptions{.max_workers = 3, .max_tasks_per_child = 1});
      for (int i = 0; i < 12; ++i) fs.push_back(pool.submit(ident, i));
      if (kill) {
        cfstress::spin(static_cast<std::uint64_t>(rep) * 20000);
        pool.kill_workers();
      } else {
        pool.shutdown(false);
      }
    }  // the destructor waits
    for (std::size_t i = 0; i < fs.size(); ++i) {
      const Ending e = ending_of(fs[i]);
      if (!kill) {
        ASSERT_EQ(e.kind, Ending::kValue) << kind_name(e.kind) << ": " << e.what;
        EXPECT_EQ(fs[i].result(), static_cast<int>(i));
      } else {
        ASSERT_TRUE(e.kind == Ending::kValue || e.kind == Ending::kBroken || e.kind == Ending::kCancelled)
            << kind_name(e.kind) << ": " << e.what;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Shutdown.

// A worker dies while shutdown(wait=true) waits for it (CPython test_shutdown_deadlock):
// shutdown returns, the call fails with BrokenProcessPool.
TEST(ProcessPoolFaults, WorkerDiesDuringShutdownWait) {
  ++scenarios;
  for (int rep = 0; rep < reps(); ++rep) {
    ++repetitions;
    cf::ProcessPoolExecutor pool(2);
    BlockedWorker blocked(pool);
    ASSERT_GT(blocked.pid, 0);
    Load load;
    load.add(pool, 4);
    std::atomic<bool> returned{false};
    std::thread shutter([&] {
      pool.shutdown(true, rep % 2 == 1);
      returned = true;
    });
    ::kill(blocked.pid, SIGKILL);
    shutter.join();  // must return: a hang here is the bug (the watchdog reports it)
    EXPECT_TRUE(returned.load());
    const Ending b = ending_of(blocked.call);
    ASSERT_EQ(b.kind, Ending::kBroken) << kind_name(b.kind) << ": " << b.what;
    for (const auto& f : load.futures) {
      const Ending e = ending_of(f);
      ASSERT_TRUE(e.kind == Ending::kValue || e.kind == Ending::kBroken || e.kind == Ending::kCancelled)
          << kind_name(e.kind) << ": " << e.what;
    }
    EXPECT_EQ(pool.worker_count(), 0u);
  }
}

// Faults in calls still running after shutdown(wait=false): a result that cannot be encoded
// fails its call with SerializationError, a dying worker breaks the pool; the pool's thread
// and processes still end (the leak listener checks), nothing hangs (CPython test ).
TEST(ProcessPoolFaults, FaultsAfterShutdownWithoutWait) {
  for (int fault : {kThrow, kExit, kKill}) {
    ++scenarios;
    ++repetitions;
    SCOPED_TRACE(std::string("result encoding fault ") + fault_name(fault));
    cf::Future<Trap> f;
    Load load;
    {
      cf::ProcessPoolExecutor pool(2);
      load.add(pool, 4);
      f = pool.submit(make_result, fault, kNone);
      load.add(pool, 4);
      pool.shutdown(false);
    }
    const Ending e = ending_of(f);
    ASSERT_EQ(e.kind, fault == kThrow ? Ending::kSerialization : Ending::kBroken)
        << kind_name(e.kind) << ": " << e.what;
    load.verify(fault != kThrow);
  }
}

// Two threads submit while a call kills its worker: each submit returns a future (which ends
// with its value or BrokenProcessPool) or throws BrokenProcessPool; none hangs.
TEST(ProcessPoolFaults, SubmitsRaceWithAWorkerDeath) {
  ++scenarios;
  for (int rep = 0; rep < reps(); ++rep) {
    ++repetitions;
    cf::ProcessPoolExecutor pool(2);
    Load loads[2];
    std::thread submitters[2];
    std::atomic<int> go{0};
    for (int t = 0; t < 2; ++t) {
      submitters[t] = std::thread([&, t] {
        go.fetch_add(1);
        while (go.load() < 3) std::this_thread::yield();
        for (int i = 0; i < 20; ++i) loads[t].add(pool, 1);
      });
    }
    go.fetch_add(1);
    auto killer = pool.submit(run_fault, kKill);
    for (auto& s : submitters) s.join();
    const Ending k = ending_of(killer);
    ASSERT_EQ(k.kind, Ending::kBroken) << kind_name(k.kind) << ": " << k.what;
    for (auto& l : loads) {
      l.verify(true);
    }
  }
}

class Report : public testing::Environment {
 public:
  void TearDown() override {
    std::printf("[faults] %d scenarios, %d repetitions (sanitizer=%s)\n", scenarios.load(), repetitions.load(),
                cfstress::kSanitizer);
  }
};
const auto* const kReport = testing::AddGlobalTestEnvironment(new Report);

}  // namespace faults
