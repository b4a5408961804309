#!/usr/bin/env bash
# Counts what one thread-pool task and one then() cost in syscalls (strace -c) and heap
# allocations (valgrind), by the difference between two runs of different sizes, so start-up
# costs cancel.
# Usage: bench/costs.sh [build-dir]   (needs strace and valgrind; builds the library if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -f "$build/src/libcfutures.a" ] || { cmake --preset default >/dev/null; cmake --build "$build" --target cfutures -j "$(nproc)"; }
command -v strace >/dev/null || { echo "needs strace (apt-get install strace)"; exit 1; }
exe=$(mktemp -d)/costs
g++ -std=c++20 -O2 -Iinclude bench/costs_main.cpp "$build/src/libcfutures.a" -pthread -o "$exe"
syscalls() { strace -f -c -o "$exe.strace" "$exe" "$@" >/dev/null; awk '/ total$/ {print $(NF-2)}' "$exe.strace"; }
allocs() { valgrind "$exe" "$@" 2>&1 | sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' | tr -d ,; }
small=20000 large=200000
s1=$(syscalls $small) s2=$(syscalls $large)
a1=$(allocs 10000) a2=$(allocs 20000)
awk -v s1="$s1" -v s2="$s2" -v a1="$a1" -v a2="$a2" -v n="$small" -v m="$large" 'BEGIN {
  printf "syscalls per task:         %.4f  (%d tasks: %d syscalls; %d tasks: %d)\n", (s2-s1)/(2*(m-n)), 2*n, s1, 2*m, s2
  printf "heap allocations per task: %.4f  (queue blocks add 1/63 while tasks pile up)\n", (a2-a1)/20000
}'
# then(): 2N continuations per run (N on a pending future that then completes, N on a done one).
t1=$(syscalls $small then) t2=$(syscalls $large then)
b1=$(allocs 10000 then) b2=$(allocs 20000 then)
awk -v s1="$t1" -v s2="$t2" -v a1="$b1" -v a2="$b2" -v n="$small" -v m="$large" 'BEGIN {
  printf "syscalls per then:         %.4f  (%d thens: %d syscalls; %d thens: %d; malloc growing the heap)\n", (s2-s1)/(2*(m-n)), 2*n, s1, 2*m, s2
  printf "heap allocations per then: %.4f\n", (a2-a1)/20000
}'
