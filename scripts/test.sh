#!/usr/bin/env bash
# The whole test suite: the normal build, then ThreadSanitizer, then AddressSanitizer +
# UndefinedBehaviorSanitizer. Installs missing Debian packages first (a no-op when present).
# Usage: scripts/test.sh [preset...]   (default: default tsan asan)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
presets=("$@")
((${#presets[@]})) || presets=(default tsan asan)
jobs=$(nproc)
for preset in "${presets[@]}"; do
  echo "=== ${preset}: configure and build"
  cmake --preset "${preset}" >/dev/null
  cmake --build --preset "${preset}" -j "${jobs}"
  echo "=== ${preset}: test"
  ctest --preset "${preset}" -j "${jobs}"
done
