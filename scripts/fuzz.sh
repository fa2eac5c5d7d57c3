#!/usr/bin/env bash
# Builds the fuzzers with clang (libFuzzer + ASan + UBSan), makes their seed
# corpora (valid files of every family and crafted hostile ones) and fuzzes
# each named fuzzer for SECONDS.
#   scripts/fuzz.sh [SECONDS=60] [BUILD_DIR=build-fuzz] [FUZZERS=load_index]
# FUZZERS: one or more (space-separated) of load_index, vecs_reader,
# npy_reader, http_request, hdf5_shape, hdf5_reader (the HDF5 ones need
# libhdf5-dev), or "all" (all but hdf5_reader: see docs/fuzzing.md).
# A longer local run: scripts/fuzz.sh 3600 (add -jobs=N by hand for more cores).
# FUZZ_SEED and FUZZ_RUNS make a run deterministic (CI uses both, so CI
# replays exactly the inputs a local run with the same values tried);
# FUZZ_RUNS counts inputs per fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
build="${2:-build-fuzz}"
fuzzers="${3:-load_index}"
[ "$fuzzers" = all ] &&
  fuzzers="load_index vecs_reader npy_reader http_request hdf5_shape"
targets=(make_seed_corpus)
for f in $fuzzers; do targets+=("${f}_fuzzer"); done
case " $fuzzers " in *" hdf5_"*) targets+=(make_hdf5_seed_corpus) ;; esac
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DVINDEX_FUZZ=ON -DVINDEX_SANITIZE=ON -DVINDEX_CUDA=OFF \
  -DVINDEX_BUILD_TESTS=OFF -DVINDEX_BUILD_BENCH=OFF -DVINDEX_BUILD_EXAMPLES=OFF
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
corpus="$build/fuzz_corpus"
mkdir -p "$corpus"
"$build/tests/fuzz/make_seed_corpus" "$corpus"
if [ -x "$build/tests/fuzz/make_hdf5_seed_corpus" ]; then
  "$build/tests/fuzz/make_hdf5_seed_corpus" "$corpus"
fi
extra=()
[ -n "${FUZZ_SEED:-}" ] && extra+=(-seed="$FUZZ_SEED")
[ -n "${FUZZ_RUNS:-}" ] && extra+=(-runs="$FUZZ_RUNS")
for f in $fuzzers; do
  echo "=== ${f}_fuzzer ==="
  ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/${f}_fuzzer" "$corpus/$f" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 "${extra[@]}"
done
