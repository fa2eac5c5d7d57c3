#!/usr/bin/env bash
# Builds vindex and runs the whole test suite (the README's test command).
#   scripts/run_tests.sh [BUILD_DIR] [extra cmake args...]
# Example: scripts/run_tests.sh build-asan -DVINDEX_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"
shift || true
jobs="$(nproc)"
# The Python module and its tests join in when Debian's Python packages are
# there (PYTHON=/path/to/python3 picks another interpreter).
python="${PYTHON:-/usr/bin/python3}"
python_args=()
if "$python" -c "import pybind11, numpy, pytest" 2>/dev/null; then
  python_args=(-DVINDEX_BUILD_PYTHON=ON "-DPython3_EXECUTABLE=$python")
fi
cmake -S . -B "$build_dir" -G "$(bash scripts/generator.sh "$build_dir")" \
  -DCMAKE_BUILD_TYPE=Release "${python_args[@]}" "$@"
cmake --build "$build_dir" -j "$jobs"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
