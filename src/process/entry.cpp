// The fork server's entry point: a static initializer that, in a program re-executed by a
// process pool (kForkServerVariable set), completes the program's static initialization and
// then runs the fork server instead of main(). In any other run it forks the early fork server
// (forkserver.hpp), which does the same, and returns; either way it records the process's role
// (forkserver.hpp's ProcessRole). How an entry completes the program's
// static initialization, and why: common/program_image.hpp.
#include <sys/prctl.h>

#include <atomic>
#include <cstdlib>

#include "common/program_image.hpp"
#include "process/forkserver.hpp"
#include "process/forkserver_client.hpp"

namespace concurrent::futures::detail::process {
namespace {

using program::finish_static_initialization;
using program::InitArray;
using program::program_init_array;

constinit std::atomic<ProcessRole> role{ProcessRole::kStarting};

__attribute__((constructor)) void cfutures_fork_server_entry(int argc, char** argv, char** envp) {
  const InitArray program = program_init_array(&cfutures_fork_server_entry);
  if (const char* fd = std::getenv(kForkServerVariable)) {  // a pool's own server, re-executed
    const int channel = std::atoi(fd);
    role.store(ProcessRole::kServer);
    unsetenv(kForkServerVariable);              // not for the workers' own children
    if (argc > 0) prctl(PR_SET_NAME, argv[0]);  // the program's name (not "exe"), for the workers
    finish_static_initialization(program, argc, argv, envp);
    fork_server_main(-1, channel);
  }
  // The early server only where libcfutures is linked into the executable: there this object
  // is linked only if the program uses a process pool. A shared libcfutures would start one
  // in every program that links it.
  const int control = program.holds_self ? fork_early_server() : -1;
  if (control < 0) {  // the program, or no early server
    role.store(ProcessRole::kProgram);
    return;
  }
  role.store(ProcessRole::kServer);
  finish_static_initialization(program, argc, argv, envp);
  fork_server_main(control, -1);
}

}  // namespace

ProcessRole process_role() noexcept { return role.load(); }

void set_process_role(ProcessRole now) noexcept { role.store(now); }

bool fork_server_entry_linked() noexcept { return true; }

}  // namespace concurrent::futures::detail::process
