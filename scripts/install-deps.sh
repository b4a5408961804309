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
