#!/usr/bin/env bash
# Builds the library and tests with ThreadSanitizer and runs the concurrency
# tests (names matching Concurren|WhileAnother|ThreadPool|Stress).
#   scripts/run_tsan.sh [BUILD_DIR=build-tsan]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-tsan}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVINDEX_TSAN=ON \
  -DVINDEX_CUDA=OFF -DVINDEX_BUILD_BENCH=OFF -DVINDEX_BUILD_EXAMPLES=OFF
cmake --build "$build" -j "$(nproc)"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir "$build" --output-on-failure -j "$(nproc)" \
  -R 'Concurren|WhileAnother|ThreadPool|Stress'
