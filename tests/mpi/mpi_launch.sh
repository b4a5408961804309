#!/usr/bin/env bash
# mpi_launch.sh MPIEXEC RANKS PROGRAM [ARGS...]: how the MPI tests run (cf_add_mpi_test in
# CMakeLists.txt): `MPIEXEC --oversubscribe -n RANKS PROGRAM ARGS...`, or PROGRAM alone (a
# singleton: MPI started without mpiexec) when RANKS is 0. CF_MPI_RANKS, if set, overrides RANKS
# (the singleton variants of a test program). GoogleTest's listing runs without mpiexec.
#
# OpenMPI refuses to run as root without the two variables below. Its TCP traffic is kept on the
# loopback interface, the only address these tests may talk to.
set -euo pipefail
mpiexec=$1
ranks=${CF_MPI_RANKS:-$2}
shift 2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
# OpenMPI keeps its TCP connections to spawned ranks until MPI_Finalize: not a test's leak.
export CFTEST_LEAK_IGNORE_TCP_SOCKETS=1
# Sanitizer reports from inside OpenMPI (the files say which) are not the tests' findings.
here=$(dirname "$(readlink -f "$0")")
export TSAN_OPTIONS="${TSAN_OPTIONS:-} suppressions=$here/tsan.supp"
# (LeakSanitizer: whole stacks, as OpenMPI's libraries have no frame pointers, and OpenMPI's
# plugins kept loaded to the end, so that the suppressions can name their frames.)
export LSAN_OPTIONS="${LSAN_OPTIONS:-} fast_unwind_on_malloc=0 suppressions=$here/lsan.supp"
export OMPI_MCA_mca_base_component_disable_dlclose=1
for arg in "$@"; do
  [[ $arg == --gtest_list_tests ]] && exec "$@"
done
[[ $ranks == 0 ]] && exec "$@"
exec "$mpiexec" --oversubscribe -n "$ranks" "$@"
