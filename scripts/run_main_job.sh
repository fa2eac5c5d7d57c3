#!/usr/bin/env bash
# The main job: build ann_bench (Release) and run a real search.
#
# usage: scripts/run_main_job.sh [BUILD_DIR]     (default: build)
#
# With the TEXMEX data in ../shared/data (relative to the repository root) or
# in $VINDEX_DATA_DIR, it sweeps Flat, IVF1024,Flat and HNSW32 on
# sift-wallpapers-128-euclidean against the reference libraries found at
# configure time; otherwise it runs on a generated 100k x 128 dataset. Specs
# the library does not have yet print "Unimplemented" and the run goes on.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build}"
case "${build}" in
  /*) ;;
  *) build="${repo}/${build}" ;;
esac

cmake -S "${repo}" -B "${build}" -DCMAKE_BUILD_TYPE=Release
cmake --build "${build}" --target ann_bench -j "$(nproc)"

data="${VINDEX_DATA_DIR:-${repo}/../shared/data}"
dataset=sift-wallpapers-128-euclidean
if compgen -G "${data}/${dataset}_*" > /dev/null; then
  # 1000 of the 10000 queries and short 1-thread loops keep it to minutes.
  input=(--data "${data}" --dataset "${dataset}" --queries 1000)
else
  echo "no ${dataset} under ${data}: using synthetic data"
  input=(--synthetic 100000,128,1000)
fi
bench=("${build}/bench/ann_bench" "${input[@]}" --budget-1t 0.5)

# Flat and IVF against FAISS (when built in); HNSW against hnswlib only, as
# the Debian FAISS (generic build) takes minutes to build an HNSW graph.
"${bench[@]}" --spec Flat --spec IVF1024,Flat --nprobe 1,4,16,64 \
  --reference auto --csv "${build}/main_job_flat_ivf.csv"
"${bench[@]}" --spec HNSW32 --ef 16,32,64,128 --reference hnswlib \
  --csv "${build}/main_job_hnsw.csv"
