#!/usr/bin/env bash
# For a GPU machine that cannot build: run this on a Linux x86-64 machine with
# the CUDA toolkit (no GPU needed). It builds the GPU tests and the GPU bench
# with CUDA on and packs them with the shared libraries the GPU machine may
# lack (Abseil, OpenBLAS, gfortran) into .devcheck/bundle.tar.xz (ignored by
# git); copy .devcheck/ along with the repository and run
# cuda/device_check.sh there.
#   bash cuda/device_check_prepare.sh [build-dir]      (default build-cuda)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-cuda}"
targets="vindex_gpu_bench gpu_select_k_test gpu_flat_index_test gpu_device_choice_test"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVINDEX_CUDA=ON \
  -DVINDEX_BUILD_BENCH=OFF -DVINDEX_BUILD_EXAMPLES=OFF >/dev/null
ninja -C "$build" -j2 $targets
grep -qxF '/.devcheck/' .git/info/exclude 2>/dev/null || echo '/.devcheck/' >> .git/info/exclude
rm -rf .devcheck && mkdir -p .devcheck/stage/bin .devcheck/stage/lib
cp "$build/cuda/vindex_gpu_bench" .devcheck/stage/bin/
for t in gpu_select_k_test gpu_flat_index_test gpu_device_choice_test; do
  cp "$build/tests/$t" .devcheck/stage/bin/
done
# Libraries the device image may lack or have older (built with GCC 12,
# glibc <= 2.34 symbols): glibc and CUDA come from the device.
for b in .devcheck/stage/bin/*; do ldd "$b"; done | awk '{print $3}' | grep '^/' | sort -u |
  grep -E 'libabsl|libopenblas|libgfortran|libquadmath|libgtest|libgmock|libstdc\+\+|libgcc_s' |
  while read -r lib; do
    case "$lib" in
      # Used only when the device's own are too old (see device_check.sh).
      *libstdc++*|*libgcc_s*) mkdir -p .devcheck/stage/lib-fallback
                              cp -L "$lib" .devcheck/stage/lib-fallback/ ;;
      *) cp -L "$lib" .devcheck/stage/lib/ ;;
    esac
  done
tar -C .devcheck/stage -cJf .devcheck/bundle.tar.xz .
rm -rf .devcheck/stage
ls -la .devcheck/bundle.tar.xz
echo "copy .devcheck/ with the repository to the GPU machine and run: bash cuda/device_check.sh"
