#!/usr/bin/env bash
# Runs the `vindex` CLI end to end (build, info, search, eval, tune, bench) on
# each TEXMEX dataset in ../shared/data (or $VINDEX_DATA_DIR), writing every
# index, result, CSV, plot and log under OUT_DIR (default: build/cli_tour).
#
# usage: scripts/cli_tour.sh [BUILD_DIR=build] [OUT_DIR=BUILD_DIR/cli_tour] [DATASET...]
#
# Per dataset: one index per family (HNSW32, IVF<4 sqrt(n)>,Flat and
# IVF<4 sqrt(n)>,PQ<dim/4>x4fs,Rerank), tuned for recall@10 = 0.95 against the
# dataset's ground truth, then `bench` draws all three as curves on one plot.
# Compressed base files are unpacked into OUT_DIR, never next to the data.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build}"
case "${build}" in /*) ;; *) build="${repo}/${build}" ;; esac
out="${2:-${build}/cli_tour}"
shift $(( $# > 2 ? 2 : $# ))
data="${VINDEX_DATA_DIR:-${repo}/../shared/data}"
threads="${VINDEX_THREADS:-$(nproc)}"

cmake -S "${repo}" -B "${build}" -G "$(bash "${repo}/scripts/generator.sh" "${build}")" \
  -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "${build}" --target vindex_cli -j "$(nproc)"
vindex="${build}/tools/vindex/vindex"
mkdir -p "${out}"

datasets=("$@")
if [ ${#datasets[@]} -eq 0 ]; then
  datasets=(sift-wallpapers-128-euclidean fashion-mnist-784-euclidean
            debian-desc-use512-angular)
fi

# Prints the path of NAME's FILE (unpacking FILE.zst into OUT_DIR first).
locate() {
  local name="$1"
  if [ -f "${data}/${name}" ]; then
    echo "${data}/${name}"
  elif [ -f "${data}/${name}.zst" ]; then
    [ -f "${out}/${name}" ] ||
      zstd -q -d --long=27 "${data}/${name}.zst" -o "${out}/${name}"
    echo "${out}/${name}"
  else
    return 1
  fi
}

# Prints and runs a command, keeping its output in the dataset's log.
run() {
  echo "\$ vindex ${*:2}" | sed "s#${out}/##g; s#${data}/##g" | tee -a "$1"
  "${vindex}" "${@:2}" 2>&1 | tee -a "$1"
}

for ds in "${datasets[@]}"; do
  if ! base="$(locate "${ds}_base.fvecs")"; then
    echo "skip ${ds}: not under ${data}"
    continue
  fi
  queries="$(locate "${ds}_query.fvecs")"
  gt="${data}/${ds}_groundtruth.ivecs"
  metric=l2
  case "${ds}" in *-angular) metric=cosine ;; esac
  # n and dim from the fvecs header and size.
  dim="$(od -An -t d4 -N4 "${base}" | tr -d ' ')"
  n=$(( $(stat -c %s "${base}") / (4 * (dim + 1)) ))
  nlist="$(awk -v n="${n}" 'BEGIN { printf "%d", 4 * sqrt(n) + 0.5 }')"
  pq_m=$(( dim / 4 ))
  specs=("HNSW32" "IVF${nlist},Flat" "IVF${nlist},PQ${pq_m}x4fs,Rerank")
  log="${out}/${ds}.log"
  : > "${log}"
  echo "== ${ds}: ${n} x ${dim}, ${metric}, ${threads} threads, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)" |
    tee -a "${log}"
  for spec in "${specs[@]}"; do
    tag="$(echo "${spec}" | tr ',' '_')"
    index="${out}/${ds}.${tag}.vdx"
    run "${log}" build --spec "${spec}" --input "${base}" --metric "${metric}" \
      --out "${index}" --threads "${threads}"
    run "${log}" info "${index}"
    run "${log}" search --index "${index}" --queries "${queries}" --k 10 \
      --out "${out}/${ds}.${tag}.results.ivecs" --threads "${threads}"
    run "${log}" eval --index "${index}" --queries "${queries}" \
      --groundtruth "${gt}" --k 10 --threads "${threads}"
    run "${log}" tune --index "${index}" --queries "${queries}" \
      --groundtruth "${gt}" --target 0.95 --k 10 --threads "${threads}" || true
  done
  bench_args=()
  for spec in "${specs[@]}"; do bench_args+=(--spec "${spec}"); done
  run "${log}" bench --input "${base}" --queries "${queries}" \
    --groundtruth "${gt}" --metric "${metric}" "${bench_args[@]}" --k 10 \
    --threads "${threads}" --csv "${out}/${ds}.bench.csv" \
    --plot "${out}/${ds}.bench.svg"
done
