#!/usr/bin/env bash
# Installs the Debian 12 packages that cfutures needs to build, test, run its examples and
# benchmarks. Idempotent: packages already present are skipped, so it costs ~1 s when nothing
# is missing.
set -euo pipefail
packages=(
  build-essential cmake g++ clang libclang-rt-14-dev   # compilers, sanitizers, libFuzzer
  clang-format                                          # scripts/check-format.sh
  libgtest-dev libgmock-dev libbenchmark-dev            # tests and micro-benchmarks
  libcereal-dev                                         # process pool serialization
  libcpp-httplib-dev libcurl4-openssl-dev               # seed examples: local flag server + client
  libboost-dev libboost-thread-dev libtbb-dev          # peers in bench/compare (Asio, Boost.Thread futures, TBB)
  python3 python3-matplotlib                            # bench/compare and its plots
  strace valgrind                                       # bench/costs.sh
  openmpi-bin libopenmpi-dev python3-mpi4py             # cfutures::mpi, its tests, the mpi4py peer
  mpich libmpich-dev                                    # the check that cfutures::mpi builds with MPICH
  iproute2                                              # the two-host MPI test (network namespaces)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# With both MPI implementations installed, Debian's alternatives pick the default mpicc, mpicxx,
# mpiexec and <mpi.h> by priority (OpenMPI 50, MPICH 40). A manual selection of MPICH would make
# CMake find MPICH's compiler wrappers and mpiexec: put every MPI alternative back to OpenMPI.
for alternative in mpi mpirun mpi-x86_64-linux-gnu; do  # (the libraries and .pc files are their slaves)
  current=$(update-alternatives --query "$alternative" 2>/dev/null | sed -n 's/^Value: //p')
  case "$current" in
    "" | *openmpi*) ;;
    *)
      choice=$(update-alternatives --list "$alternative" | grep -m1 openmpi)
      echo "update-alternatives: $alternative -> $choice (was $current)"
      sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
      "${sudo_cmd[@]}" update-alternatives --set "$alternative" "$choice"
      ;;
  esac
done
