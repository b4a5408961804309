// The raw MPI ping-pong of the `mpi` group of bench/compare: the floor under any MPI executor's
// round trip. One `long` goes from rank 0 to a peer and back with MPI_Send / MPI_Recv, M times
// (after a warm-up of 1000), each round trip timed; rank 0 prints one JSON line (bench.hpp).
//
//   mpiexec -n 2 cf_bench_mpi_raw --workload rtt [--m 20000]         two ranks of one job
//                                                                     (OpenMPI: shared memory)
//   cf_bench_mpi_raw --workload rtt_spawn [--m 20000]                 a singleton and one rank it
//                                                                     spawned (OpenMPI: TCP on lo)
#include <mpi.h>

#include <cstdio>
#include <string>
#include <vector>

#include "../common/bench.hpp"

namespace {

constexpr int kWarmup = 1000;

// Rank `me` of `comm` bounces a long with `peer`; the one that starts returns the timings.
std::vector<double> ping_pong(MPI_Comm comm, int peer, bool starts, long m) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(m));
  long value = 0;
  for (long i = 0; i < kWarmup + m; ++i) {
    if (starts) {
      const auto t0 = bench::Clock::now();
      MPI_Send(&value, 1, MPI_LONG, peer, 0, comm);
      MPI_Recv(&value, 1, MPI_LONG, peer, 0, comm, MPI_STATUS_IGNORE);
      if (i >= kWarmup) us.push_back(bench::us_between(t0, bench::Clock::now()));
      ++value;
    } else {
      MPI_Recv(&value, 1, MPI_LONG, peer, 0, comm, MPI_STATUS_IGNORE);
      MPI_Send(&value, 1, MPI_LONG, peer, 0, comm);
    }
  }
  return us;
}

void report(const std::string& workload, long m, std::vector<double>& us, const std::string& peer) {
  const bench::Summary s = bench::summarize(us);
  bench::Report r;
  r.set("system", "mpi_raw").set("workload", workload).set("m", static_cast<double>(m)).set("peer", peer);
  r.set("rtt_median_us", s.median).set("rtt_p99_us", s.p99).set("rtt_mean_us", s.mean).set("rtt_min_us", s.min);
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(version, &length);
  r.set("mpi", std::string(version, static_cast<std::size_t>(length)).substr(0, 40));
  std::printf("%s\n", r.str().c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  int status = 0;
  if (parent != MPI_COMM_NULL) {  // the spawned peer of rtt_spawn: m comes as its argument
    ping_pong(parent, 0, false, std::stol(argv[1]));
    MPI_Comm_disconnect(&parent);
  } else {
    try {
      const bench::Args args(argc, argv);
      const std::string workload = args.str("workload", "rtt");
      const long m = args.num("m", 20000);
      int rank = 0;
      int size = 0;
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      MPI_Comm_size(MPI_COMM_WORLD, &size);
      if (workload == "rtt") {
        if (size < 2) throw std::invalid_argument("rtt needs two ranks: mpiexec -n 2");
        auto us = ping_pong(MPI_COMM_WORLD, rank == 0 ? 1 : 0, rank == 0, rank < 2 ? m : 0);
        if (rank == 0) report(workload, m, us, "a rank of the same job");
      } else if (workload == "rtt_spawn") {
        std::string count = std::to_string(m);
        char* child_args[] = {count.data(), nullptr};
        MPI_Info info;
        MPI_Info_create(&info);
        MPI_Info_set(info, "map_by", ":OVERSUBSCRIBE");
        MPI_Comm child = MPI_COMM_NULL;
        MPI_Comm_spawn(argv[0], child_args, 1, info, 0, MPI_COMM_SELF, &child, MPI_ERRCODES_IGNORE);
        MPI_Info_free(&info);
        auto us = ping_pong(child, 0, true, m);
        MPI_Comm_disconnect(&child);
        report(workload, m, us, "a spawned rank");
      } else {
        throw std::invalid_argument("unknown workload '" + workload + "'; known: rtt rtt_spawn");
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      status = 1;
    }
  }
  MPI_Finalize();
  return status;
}
