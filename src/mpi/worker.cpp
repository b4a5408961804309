#include "worker.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "build_id.hpp"
#include "common/program_image.hpp"
#include "rank_transport.hpp"
#include "remote/serve.hpp"

namespace concurrent::futures::detail::mpi {
namespace {

using Clock = std::chrono::steady_clock;

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "an unknown host";
  return name;
}

// A worker rank's end of its pool's messages (remote/serve.hpp's WorkerChannel), over the engine.
// kEcho is answered on the way; kStop ends the stream (stop_requested() then says so).
class RankChannel final : public remote::WorkerChannel {
 public:
  RankChannel(Engine& engine, MPI_Comm comm, int manager, Inbox& inbox)
      : engine_(engine), comm_(comm), manager_(manager), inbox_(inbox) {}

  bool receive(remote::Kind& kind, std::uint64_t& id, std::string& payload) override {
    for (;;) {
      for (; next_ < got_.size(); ++next_) {
        Delivery& d = got_[next_];
        if (d.kind == Delivery::Kind::kFault) {
          std::fprintf(stderr, "cfutures::mpi: worker rank lost its manager: %s\n", d.bytes.c_str());
          lost_ = true;
          return false;
        }
        if (d.rank != manager_) continue;
        if (d.tag == kEcho) engine_.send(comm_, manager_, kEcho, std::move(d.bytes));
        if (d.tag == kStop) {
          stop_requested_ = true;
          return false;
        }
        if (d.tag > kRemote) {
          ++next_;
          return decode_remote(d.tag, d.bytes, kind, id, payload);
        }
      }
      got_.clear();
      next_ = 0;
      inbox_.take(got_, Clock::time_point::max());
    }
  }

  void send(remote::Kind kind, std::uint64_t id, std::string_view payload) override {
    engine_.send(comm_, manager_, remote_tag(kind), encode_remote(id, payload));
  }

  // After the serve loop: waits for kStop, answering kEcho and dropping the rest.
  void wait_for_stop() {
    remote::Kind kind{};
    std::uint64_t id = 0;
    std::string payload;
    while (!stop_requested_ && !lost_) receive(kind, id, payload);
  }

  bool stop_requested() const noexcept { return stop_requested_; }
  bool lost() const noexcept { return lost_; }

 private:
  Engine& engine_;
  const MPI_Comm comm_;
  const int manager_;
  Inbox& inbox_;
  std::vector<Delivery> got_;
  std::size_t next_ = 0;
  bool stop_requested_ = false;
  bool lost_ = false;
};

__attribute__((constructor)) void cfutures_mpi_worker_entry(int argc, char** argv, char** envp) {
  if (argc < 2 || std::strcmp(argv[1], kWorkerFlag) != 0) return;
  if (program::static_initialization_taken_over()) return;  // a fork server forked during it
  const program::InitArray image = program::program_init_array(&cfutures_mpi_worker_entry);
  program::finish_static_initialization(image, argc, argv, envp);
  std::exit(run_worker_rank());  // exit, not return: main() must not run; MPI is finalized at exit
}

}  // namespace

std::string encode_hello(const Hello& hello) {
  return hello.build + '\n' + std::to_string(hello.pid) + '\n' + hello.host;
}

std::optional<Hello> decode_hello(std::string_view bytes) {
  const auto first = bytes.find('\n');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = bytes.find('\n', first + 1);
  if (second == std::string_view::npos || bytes.find('\n', second + 1) != std::string_view::npos) return std::nullopt;
  Hello hello;
  hello.build = std::string(bytes.substr(0, first));
  const std::string pid(bytes.substr(first + 1, second - first - 1));
  char* end = nullptr;
  hello.pid = std::strtol(pid.c_str(), &end, 10);
  if (pid.empty() || *end != '\0' || hello.pid <= 0) return std::nullopt;
  hello.host = std::string(bytes.substr(second + 1));
  if (hello.build.empty()) return std::nullopt;
  return hello;
}

Hello this_process_hello() { return Hello{build_identity(), static_cast<long>(getpid()), host_name()}; }

std::string this_program() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw std::runtime_error("cfutures::mpi: cannot read /proc/self/exe to find the program to spawn");
  return std::string(path, static_cast<std::size_t>(n));
}

MPI_Info oversubscribe_info() {
  MPI_Info info = MPI_INFO_NULL;
  MPI_Info_create(&info);
  MPI_Info_set(info, "map_by", ":OVERSUBSCRIBE");
  return info;
}

MPI_Comm spawn_workers(Engine& engine, int count, const std::string& program,
                       const std::vector<std::string>& extra_args) {
  if (count < 1) throw std::invalid_argument("cfutures::mpi: cannot spawn " + std::to_string(count) + " workers");
  // OpenMPI does not return an error for a program it cannot start: a singleton's MPI_Comm_spawn
  // waits forever, and under mpiexec the whole job is aborted. So it is checked here first (on
  // this host; a path missing on another host is the cluster's to fix).
  if (access(program.c_str(), X_OK) != 0) {
    throw std::runtime_error("cfutures::mpi: cannot spawn worker ranks of " + program + ": " + std::strerror(errno));
  }
  std::vector<std::string> args{kWorkerFlag};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string command = program;
  return engine.run([&] {
    // A duplicate of MPI_COMM_SELF with MPI_ERRORS_RETURN: a failed spawn is an exception, and
    // the program's own MPI_COMM_SELF keeps its error handler.
    MPI_Comm self = MPI_COMM_NULL;
    check_mpi(MPI_Comm_dup(MPI_COMM_SELF, &self), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(self, MPI_ERRORS_RETURN);
    MPI_Info info = oversubscribe_info();
    std::vector<int> errors(static_cast<std::size_t>(count), MPI_SUCCESS);
    MPI_Comm intercomm = MPI_COMM_NULL;
    const int rc = MPI_Comm_spawn(command.data(), argv.data(), count, info, 0, self, &intercomm, errors.data());
    MPI_Info_free(&info);
    MPI_Comm_free(&self);
    check_mpi(rc, ("MPI_Comm_spawn of " + std::to_string(count) + " ranks of " + command).c_str());
    for (int i = 0; i < count; ++i) {
      if (errors[static_cast<std::size_t>(i)] != MPI_SUCCESS) {
        MPI_Comm_free(&intercomm);
        throw std::runtime_error("cfutures::mpi: MPI_Comm_spawn could not start worker rank " + std::to_string(i) +
                                 " of " + command + ": " + mpi_error_string(errors[static_cast<std::size_t>(i)]));
      }
    }
    return intercomm;
  });
}

WorkerRanks::WorkerRanks(std::shared_ptr<Engine> engine, MPI_Comm comm, std::vector<int> ranks)
    : engine_(std::move(engine)), comm_(comm), ranks_(std::move(ranks)), hellos_(ranks_.size()) {
  engine_->listen(comm_, inbox_);
}

WorkerRanks::~WorkerRanks() {
  try {
    stop(std::chrono::seconds(10));
  } catch (const std::exception& e) {  // the engine stopped first: the process is exiting
    std::fprintf(stderr, "cfutures::mpi: could not stop the worker ranks: %s\n", e.what());
  }
}

int WorkerRanks::index_of(int rank) const {
  for (std::size_t i = 0; i < ranks_.size(); ++i) {
    if (ranks_[i] == rank) return static_cast<int>(i);
  }
  return -1;
}

void WorkerRanks::await_hellos(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string problem;
  std::size_t said = 0;
  std::vector<Delivery> got;
  while (said < ranks_.size() && Clock::now() < deadline) {
    got.clear();
    inbox_->take(got, deadline);
    for (Delivery& d : got) {
      if (d.kind == Delivery::Kind::kFault) throw std::runtime_error(d.bytes);
      const int i = index_of(d.rank);
      if (d.tag != kHello || i < 0) continue;
      const auto hello = decode_hello(d.bytes);
      if (!hello)
        throw std::runtime_error("cfutures::mpi: worker rank " + std::to_string(d.rank) + " sent a malformed hello");
      if (hello->build != build_identity() && problem.empty()) {
        problem = different_build_message(d.rank, hello->host, hello->build, build_identity());
      }
      if (hellos_[static_cast<std::size_t>(i)].build.empty()) ++said;
      hellos_[static_cast<std::size_t>(i)] = *hello;
    }
  }
  if (!problem.empty()) throw std::runtime_error(problem);
  if (said < ranks_.size()) {
    std::string missing;
    for (std::size_t i = 0; i < ranks_.size(); ++i) {
      if (hellos_[i].build.empty()) missing += (missing.empty() ? "" : ", ") + std::to_string(ranks_[i]);
    }
    throw std::runtime_error("cfutures::mpi: worker ranks " + missing + " did not start within " +
                             std::to_string(timeout.count()) + " ms");
  }
}

bool WorkerRanks::stop(std::chrono::milliseconds timeout) {
  if (stopped_) return true;
  stopped_ = true;
  for (int rank : ranks_) engine_->send(comm_, rank, kStop, {});
  std::vector<bool> stopped(ranks_.size(), false);
  std::size_t answered = 0;
  std::size_t gone = 0;  // ranks on this host whose process ended without an answer
  const auto deadline = Clock::now() + timeout;
  const std::string host = host_name();
  std::vector<Delivery> got;
  bool fault = false;
  while (answered + gone < ranks_.size() && !fault && Clock::now() < deadline) {
    got.clear();
    inbox_->take(got, std::min(deadline, Clock::now() + std::chrono::milliseconds(100)));
    for (const Delivery& d : got) {
      fault = fault || d.kind == Delivery::Kind::kFault;
      const int i = index_of(d.rank);
      if (d.tag == kStopped && i >= 0 && !stopped[static_cast<std::size_t>(i)]) {
        stopped[static_cast<std::size_t>(i)] = true;
        ++answered;
      }
    }
    gone = 0;
    for (std::size_t i = 0; i < ranks_.size(); ++i) {
      const bool dead = hellos_[i].host == host && ::kill(static_cast<pid_t>(hellos_[i].pid), 0) != 0 && errno == ESRCH;
      if (!stopped[i] && dead) ++gone;
    }
  }
  engine_->unlisten(comm_);
  return answered == ranks_.size();
}

SpawnedWorkers::SpawnedWorkers(std::shared_ptr<Engine> engine, int count, const std::string& program,
                               std::chrono::milliseconds start_timeout)
    : engine_(std::move(engine)) {
  intercomm_ = spawn_workers(*engine_, count, program);
  std::vector<int> ranks(static_cast<std::size_t>(count));
  for (int r = 0; r < count; ++r) ranks[static_cast<std::size_t>(r)] = r;
  ranks_ = std::make_unique<WorkerRanks>(engine_, intercomm_, std::move(ranks));
  try {
    ranks_->await_hellos(start_timeout);
  } catch (...) {
    stop(start_timeout);
    throw;
  }
}

SpawnedWorkers::~SpawnedWorkers() {
  try {
    stop(std::chrono::seconds(10));
  } catch (const std::exception& e) {  // the engine stopped first: the process is exiting
    std::fprintf(stderr, "cfutures::mpi: could not stop the worker ranks: %s\n", e.what());
  }
}

bool SpawnedWorkers::stop(std::chrono::milliseconds timeout) {
  if (intercomm_ == MPI_COMM_NULL) return true;
  const bool all = ranks_->stop(timeout);
  MPI_Comm comm = intercomm_;
  intercomm_ = MPI_COMM_NULL;
  engine_->run([&] { all ? MPI_Comm_disconnect(&comm) : MPI_Comm_free(&comm); });
  return all;
}

int serve_manager(Engine& engine, MPI_Comm comm, int manager) {
  auto inbox = std::make_shared<Inbox>();
  engine.listen(comm, inbox);
  engine.send(comm, manager, kHello, encode_hello(this_process_hello()));
  RankChannel channel(engine, comm, manager, *inbox);
  const std::string site = "in worker rank " + std::to_string(engine.run([&] {
                             int rank = -1;
                             MPI_Comm_rank(comm, &rank);
                             return rank;
                           })) +
                           " (pid " + std::to_string(getpid()) + " on " + host_name() + ")";
  int status = remote::serve(channel, site, [](std::string_view) { return true; });
  if (channel.stop_requested()) status = 0;  // released by the manager: it never started this worker, or let it go
  if (!channel.stop_requested() && !channel.lost()) {
    engine.send(comm, manager, kExited, std::to_string(status));
    channel.wait_for_stop();
  }
  if (channel.lost()) status = kManagerLostExit;
  if (channel.stop_requested()) engine.send(comm, manager, kStopped, {});
  engine.unlisten(comm);
  return status;
}

int run_worker_rank() {
  try {
    const auto engine = Engine::acquire();
    const MPI_Comm parent = engine->run([] {
      MPI_Comm p = MPI_COMM_NULL;
      MPI_Comm_get_parent(&p);
      return p;
    });
    if (parent == MPI_COMM_NULL) {
      std::fprintf(stderr,
                   "cfutures::mpi: this process was started as an MPI worker rank (its first argument is %s) "
                   "but has no parent MPI job: worker ranks are started by cf::MPIPoolExecutor with "
                   "MPI_Comm_spawn, not by hand or by mpiexec\n",
                   kWorkerFlag);
      return 2;
    }
    const int status = serve_manager(*engine, parent, 0);
    MPI_Comm comm = parent;
    engine->run([&] { status != kManagerLostExit ? MPI_Comm_disconnect(&comm) : MPI_Comm_free(&comm); });
    // The serve loop's own status reached the manager in kExited; the process exits 0 unless it
    // lost its manager, since mpiexec ends the whole job when a rank exits non-zero.
    return status == kManagerLostExit ? status : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cfutures::mpi: worker rank failed: %s\n", e.what());
    return 1;
  }
}

}  // namespace concurrent::futures::detail::mpi
