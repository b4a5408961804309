#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine: installs the packages cfutures needs, builds the library,
# its tests, examples and benchmarks (build/), and runs the demo tour of the seed examples.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)"
if [ -x scripts/demo.sh ]; then
  bash scripts/demo.sh build
fi
