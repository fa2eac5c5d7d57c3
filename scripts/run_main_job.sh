#!/usr/bin/env bash
# The main job: build ann_bench (Release) and run a real search.
#
# usage: scripts/run_main_job.sh [BUILD_DIR]     (default: build)
#
# With TEXMEX files of sift-wallpapers-128-euclidean in $VINDEX_DATA_DIR (or
# in ../shared/data beside the repository, where the project's machines keep
# them), it sweeps Flat, IVF1024,Flat and HNSW32 on them; otherwise on a
# generated 100k x 128 clustered dataset. The reference libraries found at
# configure time run on the same data. It ends with a short summary: the
# data used, the ISA each contender ran, and a plain warning when a reference
# is a generic build (then no ratio against it is printed).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build}"
case "${build}" in
  /*) ;;
  *) build="${repo}/${build}" ;;
esac

cmake -S "${repo}" -B "${build}" -G "$(bash "${repo}/scripts/generator.sh" "${build}")" \
  -DCMAKE_BUILD_TYPE=Release
cmake --build "${build}" --target ann_bench -j "$(nproc)"

data="${VINDEX_DATA_DIR:-${repo}/../shared/data}"
dataset=sift-wallpapers-128-euclidean
if compgen -G "${data}/${dataset}_*" > /dev/null; then
  # 1000 of the 10000 queries and short 1-thread loops keep it to minutes.
  input=(--data "${data}" --dataset "${dataset}" --queries 1000)
  used="${dataset} from ${data} (1000 queries)"
else
  echo "no ${dataset} under ${data}: using synthetic data"
  input=(--synthetic 100000,128,1000)
  used="generated 100000 x 128 clustered vectors, 1000 queries (no ${dataset} under ${data})"
fi
bench=("${build}/bench/ann_bench" "${input[@]}" --budget-1t 0.5)

# Flat and IVF against FAISS (when built in); HNSW against hnswlib only, as
# the Debian FAISS (generic build) takes minutes to build an HNSW graph.
logs=("${build}/main_job_flat_ivf.log" "${build}/main_job_hnsw.log")
"${bench[@]}" --spec Flat --spec IVF1024,Flat --nprobe 1,4,16,64 \
  --reference auto --csv "${build}/main_job_flat_ivf.csv" | tee "${logs[0]}"
"${bench[@]}" --spec HNSW32 --ef 16,32,64,128 --reference hnswlib \
  --csv "${build}/main_job_hnsw.csv" | tee "${logs[1]}"

echo
echo "== main job summary =="
echo "data: ${used}"
grep -h -E '^(vindex ISA|reference):' "${logs[@]}" | sort -u
if grep -q '^n/r (not representative)' "${logs[@]}"; then
  echo "NOT REPRESENTATIVE: a reference above is a generic build (no AVX2 or"
  echo "AVX-512 kernels), so no ratio against it is printed; its QPS says nothing"
  echo "about that library on this CPU. See docs/benchmarks.md for a comparison"
  echo "against references built for the same ISA."
fi
echo "results: ${build}/main_job_flat_ivf.csv ${build}/main_job_hnsw.csv"
