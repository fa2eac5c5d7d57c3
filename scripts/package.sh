#!/usr/bin/env bash
# Builds the Debian package of vindex into BUILD_DIR: the CPU build of the
# static library, its headers, the CMake package files, vindex.pc and the
# vindex tool, installed under /usr. (The CUDA backend is built from source.)
#   scripts/package.sh [BUILD_DIR=build-deb]
# Then: sudo apt-get install ./BUILD_DIR/vindex_VERSION_ARCH.deb (or dpkg -i).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-deb}"
cmake -S . -B "${build}" -G "$(bash scripts/generator.sh "${build}")" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DVINDEX_CUDA=OFF \
  -DVINDEX_BUILD_TESTS=OFF -DVINDEX_BUILD_BENCH=OFF -DVINDEX_BUILD_EXAMPLES=OFF \
  -DVINDEX_BUILD_TOOLS=ON
cmake --build "${build}" -j "$(nproc)"
(cd "${build}" && cpack -G DEB)
ls -l "${build}"/vindex_*.deb
