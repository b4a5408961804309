#!/usr/bin/env bash
# The whole test suite: the format check, then the normal build, ThreadSanitizer, ASan + UBSan
# and clang++ 14 (which checks -Wthread-safety), each with warnings as errors. Installs missing
# Debian packages first (a no-op when present).
# Usage: scripts/test.sh [preset...]   (default: default tsan asan clang; the format check runs
# only without arguments)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
presets=("$@")
if ((${#presets[@]} == 0)); then
  presets=(default tsan asan clang)
  bash scripts/check-format.sh
fi
jobs=$(nproc)
for preset in "${presets[@]}"; do
  echo "=== ${preset}: configure and build"
  cmake --preset "${preset}" -DCFUTURES_WERROR=ON >/dev/null
  cmake --build --preset "${preset}" -j "${jobs}"
  echo "=== ${preset}: test"
  ctest --preset "${preset}" -j "${jobs}"
done
