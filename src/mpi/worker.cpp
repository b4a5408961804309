#include "worker.hpp"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "build_id.hpp"
#include "common/program_image.hpp"

namespace concurrent::futures::detail::mpi {
namespace {

using Clock = std::chrono::steady_clock;

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "an unknown host";
  return name;
}

// The placeholder serve loop (worker.hpp): echoes kEcho until kStop.
int serve(Engine& engine, MPI_Comm parent, Inbox& inbox) {
  std::vector<Delivery> got;
  for (;;) {
    got.clear();
    inbox.take(got, Clock::time_point::max());
    for (Delivery& d : got) {
      if (d.kind == Delivery::Kind::kFault) {
        std::fprintf(stderr, "cfutures::mpi: worker rank lost its manager: %s\n", d.bytes.c_str());
        return 1;
      }
      if (d.tag == kEcho) engine.send(parent, d.rank, kEcho, std::move(d.bytes));
      if (d.tag == kStop) {
        engine.send(parent, d.rank, kStopped, {});
        return 0;
      }
    }
  }
}

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

SpawnedWorkers::SpawnedWorkers(std::shared_ptr<Engine> engine, int count, const std::string& program,
                               std::chrono::milliseconds start_timeout)
    : engine_(std::move(engine)) {
  intercomm_ = spawn_workers(*engine_, count, program);
  engine_->listen(intercomm_, inbox_);
  try {
    collect_hellos(count, start_timeout);
  } catch (...) {
    stop(start_timeout);
    throw;
  }
}

SpawnedWorkers::~SpawnedWorkers() {
  if (intercomm_ == MPI_COMM_NULL) return;
  try {
    stop(std::chrono::seconds(10));
  } catch (const std::exception& e) {  // the engine stopped first: the process is exiting
    std::fprintf(stderr, "cfutures::mpi: could not stop the worker ranks: %s\n", e.what());
  }
}

void SpawnedWorkers::collect_hellos(int count, std::chrono::milliseconds timeout) {
  hellos_.assign(static_cast<std::size_t>(count), Hello{});
  const auto deadline = Clock::now() + timeout;
  std::string problem;
  int said = 0;
  std::vector<Delivery> got;
  while (said < count && Clock::now() < deadline) {
    got.clear();
    inbox_->take(got, deadline);
    for (Delivery& d : got) {
      if (d.kind == Delivery::Kind::kFault) throw std::runtime_error(d.bytes);
      if (d.tag != kHello || d.rank < 0 || d.rank >= count) continue;
      const auto hello = decode_hello(d.bytes);
      if (!hello)
        throw std::runtime_error("cfutures::mpi: worker rank " + std::to_string(d.rank) + " sent a malformed hello");
      if (hello->build != build_identity() && problem.empty()) {
        problem = different_build_message(d.rank, hello->host, hello->build, build_identity());
      }
      hellos_[static_cast<std::size_t>(d.rank)] = *hello;
      ++said;
    }
  }
  if (!problem.empty()) throw std::runtime_error(problem);
  if (said < count) {
    std::string missing;
    for (int r = 0; r < count; ++r) {
      if (hellos_[static_cast<std::size_t>(r)].build.empty())
        missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    }
    throw std::runtime_error("cfutures::mpi: worker ranks " + missing + " did not start within " +
                             std::to_string(timeout.count()) + " ms");
  }
}

bool SpawnedWorkers::stop(std::chrono::milliseconds timeout) {
  if (intercomm_ == MPI_COMM_NULL) return true;
  const int count = static_cast<int>(hellos_.size());
  for (int r = 0; r < count; ++r) engine_->send(intercomm_, r, kStop, {});
  std::vector<bool> stopped(static_cast<std::size_t>(count), false);
  int answered = 0;
  const auto deadline = Clock::now() + timeout;
  std::vector<Delivery> got;
  bool fault = false;
  while (answered < count && !fault && Clock::now() < deadline) {
    got.clear();
    inbox_->take(got, deadline);
    for (const Delivery& d : got) {
      fault = fault || d.kind == Delivery::Kind::kFault;
      if (d.tag == kStopped && d.rank >= 0 && d.rank < count && !stopped[static_cast<std::size_t>(d.rank)]) {
        stopped[static_cast<std::size_t>(d.rank)] = true;
        ++answered;
      }
    }
  }
  engine_->unlisten(intercomm_);
  const bool all = answered == count;
  MPI_Comm comm = intercomm_;
  intercomm_ = MPI_COMM_NULL;
  engine_->run([&] { all ? MPI_Comm_disconnect(&comm) : MPI_Comm_free(&comm); });
  return all;
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
    auto inbox = std::make_shared<Inbox>();
    engine->listen(parent, inbox);
    engine->send(parent, 0, kHello, encode_hello(this_process_hello()));
    const int status = serve(*engine, parent, *inbox);
    engine->unlisten(parent);
    MPI_Comm comm = parent;
    engine->run([&] { status == 0 ? MPI_Comm_disconnect(&comm) : MPI_Comm_free(&comm); });
    return status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cfutures::mpi: worker rank failed: %s\n", e.what());
    return 1;
  }
}

}  // namespace concurrent::futures::detail::mpi
