#!/usr/bin/env bash
# The MPI layer's overhead on one machine: build time and batch-search QPS of
# a sharded IVF index at 1, 2 and 4 ranks against one process with the same
# total number of threads, and the bytes each rank sends per query batch.
#   mpi/bench/scale_bench.sh BUILD_DIR DATA_PREFIX WORK_DIR [SPEC] [NPROBE]
# DATA_PREFIX names DATA_PREFIX_base.fvecs, _query.fvecs and
# _groundtruth.ivecs. Threads: 2 in all (one process x 2, or 2 ranks x 1, or
# 4 ranks x 1 oversubscribed).
set -euo pipefail
build="$1"
data="$2"
work="$3"
spec="${4:-IVF256,Flat}"
nprobe="${5:-8}"
vindex="${build}/tools/vindex/vindex"
vmpi="${build}/tools/vindex/vindex-mpi"
# No binding: with binding, the threads of a rank share one core.
mpirun=(mpirun --oversubscribe --bind-to none)
base="${data}_base.fvecs"
query="${data}_query.fvecs"
truth="${data}_groundtruth.ivecs"
mkdir -p "${work}"
secs() { local t0; t0=$(date +%s.%N); "$@" >"${work}/last.log" 2>&1; echo "$(date +%s.%N) - ${t0}" | bc; }

echo "== one process, 2 threads"
echo "build: $(secs "${vindex}" build --spec "${spec}" --input "${base}" --out "${work}/one.vindex" --threads 2) s"
"${vindex}" eval --index "${work}/one.vindex" --queries "${query}" --groundtruth "${truth}" \
  --k 10 --nprobe "${nprobe}" --threads 2 --latency-queries 1 | grep -iE "recall|qps" || true
"${vindex}" search --index "${work}/one.vindex" --queries "${query}" --k 10 --nprobe "${nprobe}" \
  --threads 2 --out "${work}/one.ivecs" >/dev/null
for np in 1 2 4; do
  threads=$(( np == 1 ? 2 : 1 ))
  echo "== ${np} ranks x ${threads} threads"
  echo "build: $(secs "${mpirun[@]}" -np "${np}" "${vmpi}" build --spec "${spec}" --input "${base}" \
    --out "${work}/sharded${np}" --threads "${threads}") s"
  for round in 1 2; do
    "${mpirun[@]}" -np "${np}" "${vmpi}" eval --index "${work}/sharded${np}" --queries "${query}" \
      --groundtruth "${truth}" --k 10 --nprobe "${nprobe}" --threads "${threads}" --batch 10000
  done
  "${mpirun[@]}" -np "${np}" "${vmpi}" search --index "${work}/sharded${np}" --queries "${query}" \
    --k 10 --nprobe "${nprobe}" --threads "${threads}" --batch 10000 --out "${work}/sharded${np}.ivecs" >/dev/null
  if cmp -s "${work}/one.ivecs" "${work}/sharded${np}.ivecs"; then
    echo "ids identical to one process"
  else
    echo "ids DIFFER from one process"
  fi
  "${mpirun[@]}" -np "${np}" "${vmpi}" eval --replicated "${work}/one.vindex" --queries "${query}" \
    --groundtruth "${truth}" --k 10 --nprobe "${nprobe}" --threads "${threads}" --batch 10000
done
