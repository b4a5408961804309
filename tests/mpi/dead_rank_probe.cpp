// What the MPI implementation does when a rank dies (SIGKILL) while another waits for it: the
// facts the MPI executors' fault handling is built on (docs/mpi.md, "Faults"), checked by
// dead_rank.sh so that a change of behaviour shows. Plain MPI, no cfutures.
//   dead_rank_probe world   (mpiexec -n N) the last rank kills itself; rank 0 polls for its
//                           message with MPI_Irecv + MPI_Test, MPI_ERRORS_RETURN, for 30 s
//   dead_rank_probe spawn   spawns 2 ranks; spawned rank 1 kills itself; the parent polls the
//                           intercommunicator (MPI_Iprobe, MPI_ERRORS_RETURN) for 5 s, then
//                           frees it and finalizes
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void say_error(const char* what, int rc, double seconds) {
  char text[MPI_MAX_ERROR_STRING] = "MPI_SUCCESS";
  int length = 0;
  if (rc != MPI_SUCCESS) MPI_Error_string(rc, text, &length);
  std::printf("probe: %s returned %s after %.2f s\n", what, text, seconds);
  std::fflush(stdout);
}

int world() {
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Barrier(MPI_COMM_WORLD);
  const int victim = size - 1;
  if (rank == victim) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::printf("probe: rank %d (pid %d) kills itself\n", rank, static_cast<int>(getpid()));
    std::fflush(stdout);
    raise(SIGKILL);
  }
  if (rank == 0) {
    long value = 0;
    MPI_Request request;
    int rc = MPI_Irecv(&value, 1, MPI_LONG, victim, 0, MPI_COMM_WORLD, &request);
    int done = 0;
    const auto t0 = Clock::now();
    while (rc == MPI_SUCCESS && !done && since(t0) < 30) {
      rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    say_error("rank 0's wait for the dead rank", rc, since(t0));  // only if the job survived
  } else {
    std::this_thread::sleep_for(std::chrono::seconds(40));
  }
  MPI_Finalize();
  return 0;
}

int spawned(MPI_Comm parent) {
  int rank = 0;
  MPI_Comm_rank(parent, &rank);
  long pid = getpid();
  MPI_Send(&pid, 1, MPI_LONG, 0, 0, parent);
  if (rank == 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    raise(SIGKILL);
  }
  std::this_thread::sleep_for(std::chrono::seconds(30));
  std::printf("probe: spawned rank %d still alive after 30 s\n", rank);
  MPI_Finalize();
  return 0;
}

int spawn(char* self) {
  MPI_Comm intercomm;
  MPI_Info info;
  MPI_Info_create(&info);
  MPI_Info_set(info, "map_by", ":OVERSUBSCRIBE");
  char mode[] = "spawn";
  char* argv[] = {mode, nullptr};
  MPI_Comm_spawn(self, argv, 2, info, 0, MPI_COMM_SELF, &intercomm, MPI_ERRCODES_IGNORE);
  MPI_Info_free(&info);
  MPI_Comm_set_errhandler(intercomm, MPI_ERRORS_RETURN);
  long pids[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    MPI_Status status;
    long pid = 0;
    MPI_Recv(&pid, 1, MPI_LONG, MPI_ANY_SOURCE, 0, intercomm, &status);
    pids[status.MPI_SOURCE] = pid;
  }
  std::printf("probe: spawned ranks 0 (pid %ld) and 1 (pid %ld) started; rank 1 kills itself in 0.3 s\n", pids[0],
              pids[1]);
  std::fflush(stdout);
  const auto t0 = Clock::now();
  int rc = MPI_SUCCESS;
  int flag = 0;
  while (rc == MPI_SUCCESS && !flag && since(t0) < 5) {
    MPI_Status status;
    rc = MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, intercomm, &flag, &status);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  say_error("the parent's polling of the intercommunicator", rc, since(t0));
  std::printf("probe: message seen: %s; spawned rank 0 %s, rank 1 %s\n", flag ? "yes" : "no",
              kill(static_cast<pid_t>(pids[0]), 0) == 0 ? "alive" : "gone",
              kill(static_cast<pid_t>(pids[1]), 0) == 0 ? "alive" : "gone");
  MPI_Comm_free(&intercomm);
  const auto t1 = Clock::now();
  MPI_Finalize();
  std::printf("probe: MPI_Comm_free and MPI_Finalize returned after %.2f s\n", since(t1));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  if (parent != MPI_COMM_NULL) return spawned(parent);
  if (argc > 1 && std::strcmp(argv[1], "world") == 0) return world();
  if (argc > 1 && std::strcmp(argv[1], "spawn") == 0) return spawn(argv[0]);
  std::fprintf(stderr, "usage: %s world | spawn\n", argv[0]);
  MPI_Finalize();
  return 64;
}
