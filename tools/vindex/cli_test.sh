#!/bin/sh
# End-to-end test of the vindex tool: build -> search -> eval -> info -> tune
# -> bench on small generated data, plus bad arguments (exit code 2) and bad
# files (exit code 1) whose one-line message must name the problem.
# Usage: cli_test.sh PATH/TO/vindex WORK_DIR
set -u
VINDEX=$1
WORK=$2
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# expect CODE PATTERN -- command...: runs it, checks the exit code and that
# stdout+stderr contains PATTERN (grep -E).
expect() {
  code=$1
  pattern=$2
  shift 3
  "$@" > out.txt 2>&1
  got=$?
  if [ "$got" -ne "$code" ]; then
    fail "exit $got (want $code): $*"
    sed 's/^/    /' out.txt
  elif [ -n "$pattern" ] && ! grep -Eq -- "$pattern" out.txt; then
    fail "output lacks '$pattern': $*"
    sed 's/^/    /' out.txt
  fi
}

# Clustered float vectors in .fvecs, reproducible.
if ! command -v python3 > /dev/null; then
  echo "python3 not found: skipping"
  exit 77
fi
python3 - << 'PY'
import random, struct
random.seed(7)
d = 16
centres = [[random.uniform(-1, 1) for _ in range(d)] for _ in range(30)]
def write(path, n):
    with open(path, "wb") as f:
        for _ in range(n):
            c = random.choice(centres)
            f.write(struct.pack("<i", d))
            f.write(struct.pack("<%df" % d, *[x + random.gauss(0, 0.2) for x in c]))
write("base.fvecs", 6000)
write("queries.fvecs", 200)
with open("q8.fvecs", "wb") as f:
    f.write(struct.pack("<i", 8) + struct.pack("<8f", *range(8)))
PY

# Help and version.
for c in build search eval bench tune info generate; do
  expect 0 "Usage: vindex $c" -- "$VINDEX" "$c" --help
done
expect 0 "Commands:" -- "$VINDEX" --help
expect 0 "^vindex [0-9]+\.[0-9]+\.[0-9]+$" -- "$VINDEX" --version

# Generate: a clustered dataset whose ground truth a Flat index reproduces
# (recall 1.0), the same again for the same seed, unit rows for ip.
expect 0 "wrote gen_base.fvecs \(2000 x 24\)" -- "$VINDEX" generate \
  --out gen --n 2000 --dim 24 --queries 50
[ "$(wc -c < gen_base.fvecs)" -eq $((2000 * 100)) ] || fail "gen_base.fvecs has the wrong size"
[ "$(wc -c < gen_query.fvecs)" -eq $((50 * 100)) ] || fail "gen_query.fvecs has the wrong size"
[ "$(wc -c < gen_groundtruth.ivecs)" -eq $((50 * 404)) ] ||
  fail "gen_groundtruth.ivecs has the wrong size"
expect 0 "built Flat" -- "$VINDEX" build --spec Flat --input gen_base.fvecs \
  --out gen.vdx
expect 0 "recall@10: +1\.0000" -- "$VINDEX" eval --index gen.vdx \
  --queries gen_query.fvecs --groundtruth gen_groundtruth.ivecs
expect 0 "wrote again_base.fvecs" -- "$VINDEX" generate --out again --n 2000 \
  --dim 24 --queries 50
cmp -s gen_base.fvecs again_base.fvecs || fail "generate is not reproducible"
expect 0 "inner product" -- "$VINDEX" generate --out unit --n 300 --dim 8 \
  --queries 5 --metric ip
expect 0 "built Flat" -- "$VINDEX" build --spec Flat --metric ip \
  --input unit_base.fvecs --out unit.vdx
expect 0 "recall@10: +1\.0000" -- "$VINDEX" eval --index unit.vdx \
  --queries unit_query.fvecs --groundtruth unit_groundtruth.ivecs
expect 2 "--out PREFIX is required" -- "$VINDEX" generate --n 10
expect 2 "--dim" -- "$VINDEX" generate --out x --dim 0
expect 2 "--metric must be l2 or ip" -- "$VINDEX" generate --out x --metric cosine
expect 1 "no_such_dir/g_base.fvecs" -- "$VINDEX" generate --out no_such_dir/g --n 10 \
  --queries 2

# Build.
expect 0 "built IVF32,Flat" -- "$VINDEX" build --spec IVF32,Flat \
  --input base.fvecs --out ivf.vdx --threads 2
grep -Eq "k-means: 10/10 iterations" out.txt ||
  fail "build did not report k-means progress"
expect 0 "built HNSW8" -- "$VINDEX" build --spec HNSW8 --input base.fvecs \
  --out hnsw.vdx
expect 0 "built Flat" -- "$VINDEX" build --spec Flat --input base.fvecs \
  --out flat.vdx
expect 0 "built IVF16,PQ4,Rerank" -- "$VINDEX" build \
  --spec IVF16,PQ4,Rerank --input base.fvecs --out pq.vdx
[ -s ivf.vdx ] || fail "ivf.vdx not written"

# Search: exact ground truth from the Flat index, then results as CSV.
expect 0 "searched 200 queries" -- "$VINDEX" search --index flat.vdx \
  --queries queries.fvecs --k 10 --out gt.ivecs
[ "$(wc -c < gt.ivecs)" -eq $((200 * 44)) ] || fail "gt.ivecs has the wrong size"
expect 0 "nprobe=4" -- "$VINDEX" search --index ivf.vdx \
  --queries queries.fvecs --k 5 --nprobe 4 --out res.csv --mmap
head -1 res.csv | grep -q '^query,rank,id,distance$' || fail "bad CSV header"
[ "$(wc -l < res.csv)" -eq 1001 ] || fail "res.csv should have 1001 lines"

# Eval: all lists scanned is exact; --base gives the same ground truth.
expect 0 "recall@10: +1\.0000" -- "$VINDEX" eval --index ivf.vdx \
  --queries queries.fvecs --groundtruth gt.ivecs --nprobe 32
expect 0 "latency: +p50" -- "$VINDEX" eval --index ivf.vdx \
  --queries queries.fvecs --base base.fvecs --nprobe 2
expect 0 "recall@10" -- "$VINDEX" eval --index hnsw.vdx \
  --queries queries.fvecs --groundtruth gt.ivecs --ef 40

# Info.
expect 0 "LSTA .* ok" -- "$VINDEX" info ivf.vdx
expect 0 "status: +ok" -- "$VINDEX" info hnsw.vdx

# Tune.
expect 0 "^best: nprobe=" -- "$VINDEX" tune --index ivf.vdx \
  --queries queries.fvecs --groundtruth gt.ivecs --target 0.9 --k 10
expect 0 "^best: ef=" -- "$VINDEX" tune --index hnsw.vdx \
  --queries queries.fvecs --base base.fvecs --target 0.95
expect 0 "^best: nprobe=[0-9]+ rerank=" -- "$VINDEX" tune --index pq.vdx \
  --queries queries.fvecs --groundtruth gt.ivecs --target 0.8

# Bench.
expect 0 "wrote plot.svg" -- "$VINDEX" bench --input base.fvecs \
  --queries queries.fvecs --groundtruth gt.ivecs --spec IVF32,Flat \
  --spec HNSW8 --csv bench.csv --plot plot.svg
head -1 bench.csv | grep -q '^spec,nprobe,ef,rerank,k,recall,qps' ||
  fail "bad bench CSV header"
grep -q '<polyline' plot.svg || fail "plot.svg has no curve"
grep -q 'HNSW8' plot.svg || fail "plot.svg has no legend"
# A Rerank spec: one curve per re-rank factor, each in the CSV and the plot.
expect 0 "wrote rerank.svg" -- "$VINDEX" bench --input base.fvecs \
  --queries queries.fvecs --groundtruth gt.ivecs --spec IVF16,PQ8x4fs,Rerank \
  --csv rerank.csv --plot rerank.svg --query-limit 50
for r in 2 4 16; do
  grep -q "^IVF16,PQ8x4fs,Rerank,[0-9]*,[0-9]*,$r," rerank.csv ||
    fail "rerank.csv has no rerank $r row"
  grep -q "Rerank rerank $r" rerank.svg || fail "rerank.svg has no rerank $r curve"
done
# A .png plot: through gnuplot when installed, else an .svg next to it.
expect 0 "wrote plot2\.(png|svg)" -- "$VINDEX" bench --input base.fvecs \
  --queries queries.fvecs --spec IVF16,Flat --plot plot2.png --query-limit 50
if command -v gnuplot > /dev/null; then
  head -c 4 plot2.png | grep -q PNG || fail "plot2.png is not a PNG"
else
  grep -q '<svg' plot2.svg || fail "plot2.svg not written without gnuplot"
fi

# Bad arguments: exit code 2 and the problem named.
expect 2 "unknown flag --bogus" -- "$VINDEX" build --bogus 1
expect 2 "missing --spec" -- "$VINDEX" build --input base.fvecs --out x.vdx
expect 2 "bad --spec 'IVFx,Flat'" -- "$VINDEX" build --spec IVFx,Flat \
  --input base.fvecs --out x.vdx
expect 2 "--k must be an integer" -- "$VINDEX" search --index ivf.vdx \
  --queries queries.fvecs --out r.ivecs --k ten
expect 2 "--metric must be" -- "$VINDEX" build --spec Flat --metric hamming \
  --input base.fvecs --out x.vdx
expect 2 "needs a value" -- "$VINDEX" search --index
expect 2 "exactly one of --groundtruth or --base" -- "$VINDEX" eval \
  --index ivf.vdx --queries queries.fvecs
expect 2 "--target must be a number" -- "$VINDEX" tune --index ivf.vdx \
  --queries queries.fvecs --base base.fvecs --target 2
expect 2 "--out must end in" -- "$VINDEX" search --index ivf.vdx \
  --queries queries.fvecs --out r.txt
expect 2 "unknown command 'serch'" -- "$VINDEX" serch
expect 2 "missing argument" -- "$VINDEX" info

# Bad files: exit code 1 and the file named.
expect 1 "missing.fvecs: cannot open" -- "$VINDEX" build --spec Flat \
  --input missing.fvecs --out x.vdx
expect 1 "q8.fvecs: queries have dimension 8 but the index has 16" -- \
  "$VINDEX" search --index ivf.vdx --queries q8.fvecs --out r.ivecs
expect 1 "base.fvecs: bad magic: not a vindex file" -- "$VINDEX" info \
  base.fvecs
head -c 1000 ivf.vdx > cut.vdx
expect 1 "cut.vdx: .*declares" -- "$VINDEX" info cut.vdx
cp ivf.vdx flipped.vdx
printf '\377' | dd of=flipped.vdx bs=1 seek=500 conv=notrunc 2> /dev/null
expect 1 "checksum mismatch" -- "$VINDEX" info flipped.vdx
expect 1 "flipped.vdx: .*checksum mismatch" -- "$VINDEX" search \
  --index flipped.vdx --queries queries.fvecs --out r.ivecs
expect 1 "gt.ivecs: ground truth has 10 neighbours per query, fewer than --k 20" -- \
  "$VINDEX" eval --index ivf.vdx --queries queries.fvecs --groundtruth gt.ivecs \
  --k 20

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all vindex CLI checks passed"
