// The MPI communication engine (src/mpi/engine.hpp) between the ranks of `mpiexec -n 2` (and of
// `mpiexec -n 3`: "<test>.3ranks"): every test runs on every rank; rank 0 drives, the others echo
// what they receive with the same tag.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine.hpp"
#include "inbox.hpp"

namespace mpi = concurrent::futures::detail::mpi;
using Clock = std::chrono::steady_clock;
using mpi::Delivery;

namespace {

constexpr int kData = 7;
constexpr int kDone = 8;  // rank 0 -> rank 1: stop echoing

// A duplicate of MPI_COMM_WORLD for one test, listened to by the engine, and the echo loop of
// rank 1 over it.
class EngineTest : public testing::Test {
 protected:
  void SetUp() override {
    engine_ = mpi::Engine::acquire();
    comm_ = engine_->run([] {
      MPI_Comm c = MPI_COMM_NULL;
      MPI_Comm_dup(MPI_COMM_WORLD, &c);
      return c;
    });
    engine_->run([&] {
      MPI_Comm_rank(comm_, &rank_);
      MPI_Comm_size(comm_, &size_);
    });
    engine_->listen(comm_, inbox_);
  }
  void TearDown() override {
    if (rank_ == 0) {
      for (int r = 1; r < size_; ++r) engine_->send(comm_, r, kDone, {});
    } else {
      echo_until_done();
    }
    engine_->unlisten(comm_);
    engine_->run([&] {
      MPI_Barrier(comm_);
      MPI_Comm_free(&comm_);
    });
  }

  void echo_until_done() {
    std::vector<Delivery> got;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      got.clear();
      inbox_->take(got, deadline);
      for (Delivery& d : got) {
        ASSERT_EQ(d.kind, Delivery::Kind::kMessage) << d.bytes;
        if (d.tag == kDone) return;
        engine_->send(comm_, 0, d.tag, std::move(d.bytes));
      }
    }
    FAIL() << "rank " << rank_ << " was not told to stop within 60 s";
  }

  // Rank 0: the next `n` messages, in arrival order.
  std::vector<Delivery> receive(std::size_t n, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::vector<Delivery> got;
    const auto deadline = Clock::now() + timeout;
    while (got.size() < n && Clock::now() < deadline) inbox_->take(got, deadline);
    return got;
  }

  std::shared_ptr<mpi::Engine> engine_;
  std::shared_ptr<mpi::Inbox> inbox_ = std::make_shared<mpi::Inbox>();
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = -1;
  int size_ = 0;
};

std::string payload(std::size_t size, int seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + static_cast<std::size_t>(seed)) & 0xff);
  return s;
}

TEST_F(EngineTest, PayloadsOfEverySizeMakeTheRoundTripIntact) {
  if (rank_ != 0) return;
  const std::vector<std::size_t> sizes = {0, 1, 15, 16, 4096, 65536, 1 << 20, 4 << 20};
  for (std::size_t i = 0; i < sizes.size(); ++i) engine_->send(comm_, 1, kData, payload(sizes[i], static_cast<int>(i)));
  const auto got = receive(sizes.size());
  ASSERT_EQ(got.size(), sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(got[i].kind, Delivery::Kind::kMessage);
    EXPECT_EQ(got[i].rank, 1);
    EXPECT_EQ(got[i].tag, kData);
    EXPECT_EQ(got[i].bytes.size(), sizes[i]);
    EXPECT_TRUE(got[i].bytes == payload(sizes[i], static_cast<int>(i))) << "payload " << i << " changed";
  }
}

TEST_F(EngineTest, ManyMessagesFromOneThreadArriveInTheOrderSent) {
  if (rank_ != 0) return;
  constexpr int kCount = 20000;
  for (int i = 0; i < kCount; ++i) engine_->send(comm_, 1, kData, std::to_string(i));
  const auto got = receive(kCount);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i)].bytes, std::to_string(i));
}

TEST_F(EngineTest, SendsFromManyThreadsAllArriveEachThreadInOrder) {
  if (rank_ != 0) return;
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) engine_->send(comm_, 1, kData, std::to_string(t) + ":" + std::to_string(i));
    });
  }
  for (auto& t : threads) t.join();
  const auto got = receive(kThreads * kEach);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kThreads * kEach));
  std::vector<int> next(kThreads, 0);
  for (const auto& d : got) {
    const auto colon = d.bytes.find(':');
    const int t = std::stoi(d.bytes.substr(0, colon));
    ASSERT_EQ(std::stoi(d.bytes.substr(colon + 1)), next[static_cast<std::size_t>(t)]++) << "thread " << t;
  }
}

TEST_F(EngineTest, EveryOtherRankAnswersTheRootInTheOrderItSent) {
  if (rank_ != 0) return;
  constexpr int kEach = 1000;
  for (int i = 0; i < kEach; ++i) {
    for (int r = 1; r < size_; ++r) engine_->send(comm_, r, kData, std::to_string(r) + ":" + std::to_string(i));
  }
  const auto got = receive(static_cast<std::size_t>(kEach * (size_ - 1)));
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kEach * (size_ - 1)));
  std::vector<int> next(static_cast<std::size_t>(size_), 0);
  for (const auto& d : got) {
    ASSERT_TRUE(d.rank >= 1 && d.rank < size_) << d.rank;
    EXPECT_EQ(d.bytes, std::to_string(d.rank) + ":" + std::to_string(next[static_cast<std::size_t>(d.rank)]++));
  }
}

TEST_F(EngineTest, RunReturnsTheResultRethrowsAndNests) {
  EXPECT_EQ(engine_->run([] { return 42; }), 42);
  EXPECT_TRUE(engine_->run([&] { return engine_->on_engine_thread(); }));
  EXPECT_FALSE(engine_->on_engine_thread());
  EXPECT_EQ(engine_->run([&] { return engine_->run([] { return 7; }); }), 7);
  EXPECT_THROW(engine_->run([]() -> int { throw std::logic_error("thrown on the engine thread"); }), std::logic_error);
  int world = 0;
  engine_->run([&] { MPI_Comm_size(MPI_COMM_WORLD, &world); });
  EXPECT_EQ(world, size_);
}

TEST_F(EngineTest, BadArgumentsAreRejectedBeforeAnythingIsSent) {
  EXPECT_THROW(engine_->send(comm_, 0, -1, "x"), std::invalid_argument);
  EXPECT_THROW(engine_->send(comm_, 0, 32768, "x"), std::invalid_argument);
  EXPECT_THROW(engine_->send(comm_, -2, kData, "x"), std::invalid_argument);
  EXPECT_THROW(engine_->listen(comm_, inbox_), std::invalid_argument);  // listened to already
}

TEST_F(EngineTest, AnMpiErrorIsDeliveredAsAFaultAndEndsListening) {
  if (rank_ != 0) return;
  // Rank 5 does not exist in a communicator of 2 or 3: MPI_Isend fails (MPI_ERRORS_RETURN).
  engine_->send(comm_, 5, kData, "to nobody");
  const auto got = receive(1, std::chrono::seconds(10));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Delivery::Kind::kFault);
  EXPECT_EQ(got[0].rank, 5);
  EXPECT_THAT(got[0].bytes, testing::HasSubstr("rank 5"));
  engine_->listen(comm_, inbox_);  // it stopped listening: listening again is allowed
}

// CPU time (user + system) of one thread of this process, from /proc.
std::chrono::milliseconds thread_cpu_time(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  long long utime = 0;
  long long stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) {
      stime = std::stoll(field);
      break;
    }
  }
  return std::chrono::milliseconds((utime + stime) * 1000 / sysconf(_SC_CLK_TCK));
}

TEST_F(EngineTest, AnIdleEngineSleepsInsteadOfSpinning) {
  // Both ranks idle, listening, for 2 s: the engine thread polls about a thousand times a second
  // and sleeps in between. Spinning would cost ~2000 ms of CPU; the bound is 10% of that.
  const auto sleeps_before = engine_->sleeps();
  const auto cpu_before = thread_cpu_time(engine_->thread_id());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto cpu = thread_cpu_time(engine_->thread_id()) - cpu_before;
  const auto sleeps = engine_->sleeps() - sleeps_before;
  std::printf("rank %d: idle engine thread used %lld ms of CPU in 2000 ms, slept %llu times\n", rank_,
              static_cast<long long>(cpu.count()), static_cast<unsigned long long>(sleeps));
  EXPECT_LT(cpu, std::chrono::milliseconds(200));
  EXPECT_GT(sleeps, 200u);
}

TEST_F(EngineTest, AMessageToAnIdleEngineIsSeenWithinItsLongestSleep) {
  if (rank_ != 0) return;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both engines back off fully
  std::vector<double> round_trips_ms;
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto t0 = Clock::now();
    engine_->send(comm_, 1, kData, "ping");
    const auto got = receive(1, std::chrono::seconds(10));
    ASSERT_EQ(got.size(), 1u);
    round_trips_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(round_trips_ms.begin(), round_trips_ms.end());
  std::printf("round trip to an idle peer: median %.3f ms, max %.3f ms\n", round_trips_ms[10], round_trips_ms.back());
  // Each side sleeps at most ~1 ms before it looks: about 1 ms here on a quiet machine. The bound
  // is far above that (seen: 25 ms under AddressSanitizer, 3 ranks and another test on 2 cores)
  // and far below what a lost wake-up or an unbounded sleep would give.
  EXPECT_LT(round_trips_ms[10], 250.0);
}

TEST_F(EngineTest, TheRanksRunOnAsManyHostsAsExpected) {
  // two_hosts.sh sets CF_MPI_EXPECT_HOSTS=2: the ranks must then report two host names.
  const char* expected = std::getenv("CF_MPI_EXPECT_HOSTS");
  if (expected == nullptr) GTEST_SKIP() << "CF_MPI_EXPECT_HOSTS is not set (only two_hosts.sh sets it)";
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  std::vector<char> names(static_cast<std::size_t>(size_) * MPI_MAX_PROCESSOR_NAME);
  engine_->run([&] {
    int length = 0;
    MPI_Get_processor_name(name, &length);
    MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, comm_);
  });
  std::set<std::string> hosts;
  for (int r = 0; r < size_; ++r) hosts.insert(names.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME);
  std::string listed;
  for (const auto& host : hosts) listed += " " + host;
  std::printf("rank %d runs on %s; the ranks' hosts:%s\n", rank_, name, listed.c_str());
  EXPECT_EQ(hosts.size(), static_cast<std::size_t>(std::atoi(expected)));
}

}  // namespace
