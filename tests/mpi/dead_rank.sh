#!/usr/bin/env bash
# dead_rank.sh MPIEXEC PROBE: checks what OpenMPI does when a rank dies (dead_rank_probe.cpp),
# the behaviour docs/mpi.md ("Faults") describes and the MPI executors' fault handling assumes:
#  1. mpiexec -n 3, the last rank SIGKILLed: mpiexec ends the whole job within 10 s (exit
#     status non-zero) with a message naming the rank and the signal; rank 0 gets no MPI error.
#  2. mpiexec -n 1, a spawned rank SIGKILLed: the same, for the parent's job too.
#  3. a singleton (no mpiexec), a spawned rank SIGKILLed: the parent lives on and MPI tells it
#     nothing (no error, no message in 5 s); the spawned job is gone; freeing the
#     intercommunicator and MPI_Finalize return at once.
set -uo pipefail
mpiexec=$1 probe=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
failures=0
check() {  # check NAME CONDITION-TEXT: report a failed expectation
  echo "FAILED: $1"
  failures=$((failures + 1))
}
run() {  # run LIMIT COMMAND...: sets out, status, ms
  local t0
  t0=$(date +%s%N)
  out=$(timeout "$1" "${@:2}" 2>&1)
  status=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  printf '=== %s (exit %s after %d ms)\n%s\n' "${*:2}" "$status" "$ms" "$out"
}

run 60 "$mpiexec" --oversubscribe -n 3 "$probe" world
[[ $status -ne 0 && $status -ne 124 ]] || check "mpiexec -n 3: the job did not end with an error status"
((ms < 10000)) || check "mpiexec -n 3: the job took ${ms} ms to end"
grep -q "process rank 2 .*exited on signal 9" <<<"$out" || check "mpiexec -n 3: no message naming rank 2 and signal 9"
grep -q "rank 0's wait" <<<"$out" && check "mpiexec -n 3: rank 0 survived the dead rank"

run 60 "$mpiexec" -n 1 "$probe" spawn
[[ $status -ne 0 && $status -ne 124 ]] || check "mpiexec -n 1 + spawn: the job did not end with an error status"
((ms < 10000)) || check "mpiexec -n 1 + spawn: the job took ${ms} ms to end"
grep -q "process rank 1 .*exited on signal 9" <<<"$out" || check "mpiexec -n 1 + spawn: no message naming rank 1"
grep -q "parent's polling" <<<"$out" && check "mpiexec -n 1 + spawn: the parent survived"

run 60 "$probe" spawn
[[ $status -eq 0 ]] || check "singleton + spawn: the parent did not end normally"
grep -q "parent's polling of the intercommunicator returned MPI_SUCCESS" <<<"$out" ||
  check "singleton + spawn: the parent got an MPI error (it used to get none)"
grep -q "message seen: no; spawned rank 0 gone, rank 1 gone" <<<"$out" ||
  check "singleton + spawn: the spawned job was not torn down as before"
grep -q "MPI_Finalize returned" <<<"$out" || check "singleton + spawn: MPI_Finalize did not return"

echo "dead_rank.sh: ${failures} expectation(s) failed"
exit $((failures > 0))
