#!/usr/bin/env bash
# Installs what vindex needs to build, test and benchmark on Debian 12.
# Everything comes from Debian's packages; nothing else is downloaded.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config zstd libhdf5-dev \
  libeigen3-dev libopenblas-dev libabsl-dev \
  libgtest-dev libgmock-dev libbenchmark-dev >/dev/null
# Optional: the reference libraries ann_bench runs side by side.
$SUDO apt-get install -y -qq --no-install-recommends libfaiss-dev libhnswlib-dev >/dev/null ||
  echo "install-deps: libfaiss-dev/libhnswlib-dev unavailable; benches run without references"
$SUDO apt-get install -y -qq --no-install-recommends libcpp-httplib-dev >/dev/null || echo "install-deps: libcpp-httplib-dev unavailable; examples/http_service is not built"
# Optional: MPI (Open MPI) for the mpi/ component and its tests.
$SUDO apt-get install -y -qq --no-install-recommends libopenmpi-dev openmpi-bin >/dev/null ||
  echo "install-deps: Open MPI unavailable; the mpi/ component is not built"
# The Python module (python/), its tests and examples/python.
$SUDO apt-get install -y -qq --no-install-recommends python3-dev python3-venv pybind11-dev \
  python3-pybind11 python3-numpy python3-pytest python3-h5py python3-matplotlib >/dev/null ||
  echo "install-deps: Python packages unavailable; the Python module is not built"
echo "install-deps: done"
