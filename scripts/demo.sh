#!/usr/bin/env bash
# The demo tour: a selection of the seed examples (examples/, the C++ twins of the Python
# programs in the concurrent.futures tutorials), each announced, in well under a minute.
# Sleeps and the flag server's delay are scaled down (--scale) so the tour stays short, but
# not so far that the speed-ups disappear.
#
# Usage: scripts/demo.sh [BUILD_DIR]   (default: build; the examples must be built there)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "demo: no build directory '${1:-build}'" >&2; exit 1; }
examples=$build/examples
[ -x "$examples/000_load_url" ] || { echo "demo: the examples are not built in $build" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cfutures-demo-XXXXXX")  # the flags programs save into downloads/ here
trap 'rm -rf "$work"' EXIT
cd "$work"

if [ -t 1 ]; then bold=$'\e[1m' dim=$'\e[2m' off=$'\e[0m'; else bold='' dim='' off=''; fi
TIMEFORMAT="${dim}(%Rs)${off}"
announce() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
# run [--tail N] PROGRAM ARGS...: shows the command, runs it (showing only the last N lines of
# its output with --tail), and its wall time.
run() {
  local tail=""
  if [ "$1" = --tail ]; then tail=$2; shift 2; fi
  local exe=$examples/$1
  shift
  if [ ! -x "$exe" ]; then
    printf '%s$ %s %s%s\n(not built: it needs cf::ProcessPoolExecutor)\n' "$dim" "$(basename "$exe")" "$*" "$off"
    return
  fi
  printf '%s$ %s %s%s\n' "$dim" "$(basename "$exe")" "$*" "$off"
  if [ -n "$tail" ]; then
    time { "$exe" "$@" | tail -n "$tail"; }
  else
    time "$exe" "$@"
  fi
}

printf '%scfutures: the seed tutorials of concurrent.futures, in C++ (docs/from-python.md)%s\n' "$bold" "$off"
printf 'Sleeps and server delays are scaled: --scale=0.2 makes the tutorial'"'"'s 5 s sleep 1 s.\n'

announce "000: submit, done() and result() on ThreadPoolExecutor(3) (5 s sleeps, scaled to 1 s)"
run 000_return_after_5_secs_threads --scale=0.2

announce "000: load_url with submit + as_completed; one URL fails (a local port where nothing listens)"
run 000_load_url

announce "000: as_completed yields the futures as they finish (sleeps of 1-5 s, scaled)"
run 000_as_completed --scale=0.2

announce "001: 20 flags from a local server that answers each request after 0.5 s (scaled to 0.2 s)"
printf 'sequential (20 x 0.2 s):\n'
run --tail 2 001_flags_sequential --scale=0.4
printf 'ThreadPoolExecutor.map, 20 threads:\n'
run --tail 2 001_flags_threadpool --scale=0.4
printf 'submit + as_completed, 3 threads, with a cf::progress line (on stderr, when it is a terminal):\n'
run --tail 2 001_flags_as_completed --scale=0.4
printf 'ProcessPoolExecutor.map, one worker per CPU (%s here):\n' "$(nproc)"
run --tail 2 001_flags_processpool --scale=0.4

announce "001: Executor.map runs loiter(0..4) on 3 threads; results come in input order"
run 001_loiter --scale=0.4

announce "002: my_func with submit + add_done_callback, map and wait (sleeps scaled to 1/5)"
run 002_my_func_threads --scale=0.2

announce "000: is_prime over six large numbers, sequential then ProcessPoolExecutor.map"
printf '(in C++ the six tests take ~40 ms of CPU, about what starting the worker processes costs)\n'
run 000_is_prime --sequential
run 000_is_prime

announce "004: file search, each result processed as it completes, on threads then processes"
run 004_as_completed --executor=thread
[ -x "$examples/000_is_prime" ] && run 004_as_completed --executor=process  # built with the process pool

printf '\n%sAll 18 twins: %s/examples/*.cpp; their tests: ctest --test-dir %s -L seed%s\n' "$bold" "$root" "$build" "$off"
