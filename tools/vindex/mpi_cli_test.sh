#!/usr/bin/env bash
# End-to-end check of vindex-mpi under mpiexec: a 2-rank build and search of a
# generated data set give the ids one process gives; eval reports recall; a
# missing shard fails every rank with one message and a non-zero exit.
#   mpi_cli_test.sh VINDEX VINDEX_MPI MPIEXEC WORK_DIR [mpiexec flags...]
set -euo pipefail
vindex="$1"
vmpi="$2"
mpiexec="$3"
work="$4"
shift 4
run2=("${mpiexec}" -n 2 "$@")
rm -rf "${work}"
mkdir -p "${work}"
cd "${work}"
"${vindex}" generate --out data --n 3000 --dim 24 --queries 50 --threads 1 >/dev/null
"${vindex}" build --spec IVF32,Flat --input data_base.fvecs --out one.vindex --threads 1 >/dev/null
"${vindex}" search --index one.vindex --queries data_query.fvecs --k 5 --nprobe 4 \
  --threads 1 --out one.ivecs >/dev/null
"${run2[@]}" "${vmpi}" build --spec IVF32,Flat --input data_base.fvecs --out idx --threads 1 \
  >build.log
grep -q "manifest written: 2 shards" build.log
"${run2[@]}" "${vmpi}" search --index idx --queries data_query.fvecs --k 5 --nprobe 4 \
  --threads 1 --out two.ivecs >search.log
cmp one.ivecs two.ivecs || { echo "2-rank ids differ from one process"; exit 1; }
# `vindex` under mpirun runs the same MPI commands (it becomes vindex-mpi).
"${run2[@]}" "${vindex}" search --index idx --queries data_query.fvecs --k 5 --nprobe 4 \
  --threads 1 --out fwd.ivecs >fwd.log
cmp one.ivecs fwd.ivecs || { echo "vindex under mpirun differs from vindex-mpi"; exit 1; }
"${run2[@]}" "${vmpi}" eval --index idx --queries data_query.fvecs \
  --groundtruth data_groundtruth.ivecs --k 5 --nprobe 32 --threads 1 >eval.log
grep -q "recall@5: 1.0000" eval.log || { cat eval.log; echo "exact eval below 1"; exit 1; }
# Progress on rank 0 only: one line per step, not two.
test "$(grep -c 'manifest written' build.log)" = 1
rm idx/shard-*-00001-of-00002.vindex
if "${run2[@]}" "${vmpi}" search --index idx --queries data_query.fvecs --k 5 \
  --threads 1 --out bad.ivecs >bad.log 2>&1; then
  echo "search with a missing shard succeeded"
  exit 1
fi
grep -q "rank 1: no file" bad.log || { cat bad.log; exit 1; }
echo "vindex-mpi end to end: ok"
