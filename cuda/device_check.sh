#!/usr/bin/env bash
# GPU device check: runs the GPU tests (GPU vs CPU agreement) and the GPU
# bench, then prints one short table. Run on any machine with an NVIDIA GPU,
# from the repository root:
#   bash cuda/device_check.sh            (uses .devcheck/bundle.tar.xz from
#                                         cuda/device_check_prepare.sh when
#                                         present, else builds from source)
#   SMALL=1 bash cuda/device_check.sh    (bench shapes a tenth of the targets)
# Logs go to $OUT (when set) or build-gpu/out. Exit status: 0 when every test
# passed and the bench's GPU/CPU agreement held.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
out="${OUT:-build-gpu/out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv,noheader 2>&1 | tee "$out/gpu.txt"

if [ -f .devcheck/bundle.tar.xz ]; then
  dir=/tmp/vindex-devcheck
  rm -rf "$dir" && mkdir -p "$dir" && tar -C "$dir" -xJf .devcheck/bundle.tar.xz
  export LD_LIBRARY_PATH="$dir/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
  bin="$dir/bin"; tbin="$dir/bin"
  if ! "$bin/gpu_device_choice_test" --gtest_list_tests >/dev/null 2>"$out/bundle_err.txt"; then
    # The device's libstdc++ may be older than the build machine's.
    export LD_LIBRARY_PATH="$dir/lib-fallback:$LD_LIBRARY_PATH"
  fi
  if ! "$bin/gpu_device_choice_test" --gtest_list_tests >/dev/null 2>"$out/bundle_err.txt"; then
    echo "prebuilt bundle does not run here ($(head -c 300 "$out/bundle_err.txt")); building"
    bin=""
  fi
else
  bin=""
fi
if [ -z "$bin" ]; then
  b=build-gpu
  cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVINDEX_CUDA=ON \
    -DVINDEX_BUILD_BENCH=OFF -DVINDEX_BUILD_EXAMPLES=OFF > "$out/cmake.log" 2>&1 &&
  ninja -C "$b" -j"$(nproc)" vindex_gpu_bench gpu_select_k_test gpu_flat_index_test \
    gpu_device_choice_test > "$out/build.log" 2>&1 || { tail -40 "$out/build.log" "$out/cmake.log"; exit 1; }
  bin="$b/cuda"; tbin="$b/tests"
fi
echo "ready after $(( $(date +%s) - start )) s"

status=0
declare -a rows
for t in gpu_device_choice_test gpu_select_k_test gpu_flat_index_test; do
  t0=$(date +%s)
  timeout 300 "$tbin/$t" --gtest_brief=1 > "$out/$t.log" 2>&1
  rc=$?
  passed=$(grep -oE '\[  PASSED  \] [0-9]+' "$out/$t.log" | grep -oE '[0-9]+$' || echo 0)
  failed=$(grep -oE '\[  FAILED  \] [0-9]+ test' "$out/$t.log" | grep -oE '[0-9]+' || echo 0)
  skipped=$(grep -oE '\[  SKIPPED \] [0-9]+ test' "$out/$t.log" | grep -oE '[0-9]+' || echo 0)
  rows+=("$(printf '%-24s rc=%-3s passed=%-4s failed=%-3s skipped=%-3s %4ss' "$t" "$rc" "$passed" "$failed" "$skipped" "$(( $(date +%s) - t0 ))")")
  [ "$rc" = 0 ] || { status=1; grep -E 'Failure|FAILED|error' "$out/$t.log" | head -20; }
done

timeout 420 "$bin/vindex_gpu_bench" ${SMALL:+--small} > "$out/bench.log" 2>&1
brc=$?
[ "$brc" = 0 ] || status=1

echo
echo "==================== vindex GPU device check ===================="
cat "$out/gpu.txt"
for r in "${rows[@]}"; do echo "$r"; done
sed -n '/==== vindex GPU device check: summary ====/,$p' "$out/bench.log" | tail -n +2
grep -q 'summary ====' "$out/bench.log" || tail -5 "$out/bench.log"
[ "$brc" = 0 ] || { echo "bench rc=$brc; last lines:"; tail -15 "$out/bench.log"; }
echo "targets: select 1000x1e6 k=100 >= 50% of copy GB/s; gpu flat <= 1.5x bare sgemm"
echo "total $(( $(date +%s) - start )) s, status $status"
exit $status
