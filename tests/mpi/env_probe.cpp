// A probe of the MPI environment rules (environment.hpp), one case per process, for
// test_environment.cpp; prints key=value lines.
//   mpi_env_probe auto          cfutures initializes MPI, and finalizes it at exit
//   mpi_env_probe program LEVEL the program initializes MPI at LEVEL (SINGLE, FUNNELED,
//                               SERIALIZED, MULTIPLE) and keeps control of it
//   mpi_env_probe finalized     the program initialized and finalized MPI before cfutures
//   mpi_env_probe identity      prints build_identity() and this_program()
// With --cfutures-mpi-worker as its first argument it never gets here (worker.cpp's entry).
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "build_id.hpp"
#include "cfutures/detail/mpi/environment.hpp"
#include "engine.hpp"
#include "worker.hpp"

namespace mpi = concurrent::futures::detail::mpi;

namespace {

int level_named(const std::string& name) {
  if (name == "SINGLE") return MPI_THREAD_SINGLE;
  if (name == "FUNNELED") return MPI_THREAD_FUNNELED;
  if (name == "SERIALIZED") return MPI_THREAD_SERIALIZED;
  return MPI_THREAD_MULTIPLE;
}

// Runs after the engine's own exit handler (registered earlier, so it runs later).
void report_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  std::printf("finalized_at_exit=%d\n", finalized);
  std::fflush(stdout);
}

// Acquires the engine and prints what it says, or why it refused.
std::shared_ptr<mpi::Engine> try_acquire() {
  try {
    auto engine = mpi::Engine::acquire();
    const int size = engine->run([] {
      int n = 0;
      MPI_Comm_size(MPI_COMM_WORLD, &n);
      return n;
    });
    std::printf("acquired=1\nowns_mpi=%d\nlevel=%s\nworld_size=%d\n", engine->owns_mpi() ? 1 : 0,
                mpi::thread_level_name(engine->thread_level()).c_str(), size);
    return engine;
  } catch (const std::exception& e) {
    std::printf("refused=%s\n", e.what());
    return nullptr;
  }
}

int program_owned(int level) {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, level, &provided);
  auto engine = try_acquire();
  if (engine) {
    engine.reset();  // the last holder: the engine thread ends, MPI stays initialized
    int finalized = 0;
    MPI_Finalized(&finalized);
    std::printf("finalized_after_release=%d\n", finalized);
    engine = try_acquire();  // a new engine thread, the same MPI
    engine.reset();
  }
  MPI_Finalize();
  std::printf("program_finalized=1\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "auto") {
    std::atexit(report_at_exit);
    auto engine = try_acquire();
    if (!engine) return 1;
    const auto* first = engine.get();
    engine.reset();
    engine = mpi::Engine::acquire();  // cfutures keeps its engine until exit
    std::printf("same_engine=%d\n", engine.get() == first ? 1 : 0);
    return 0;
  }
  if (mode == "program" && argc > 2) return program_owned(level_named(argv[2]));
  if (mode == "finalized") {
    MPI_Init(nullptr, nullptr);
    MPI_Finalize();
    return try_acquire() ? 1 : 0;
  }
  if (mode == "identity") {
    std::printf("identity=%s\nprogram=%s\n", mpi::build_identity().c_str(), mpi::this_program().c_str());
    return 0;
  }
  std::fprintf(stderr, "usage: %s auto | program LEVEL | finalized | identity\n", argv[0]);
  return 64;
}
