#!/usr/bin/env bash
# Soak test of vindex_http_service (see soak.py for the phases and checks):
# builds an HNSW index over random vectors with the vindex CLI, then runs
# SECONDS of searches with concurrent adds, removes and saves, hostile
# requests mixed in, a kill -9 during a save and a restart from the file.
# Everything runs on 127.0.0.1; the work folder is removed at the end.
#   examples/http_service/soak.sh [SECONDS=600] [BUILD_DIR=build]
# Needs the targets vindex_http_service and vindex_cli built in BUILD_DIR.
# SOAK_SIZE (20000) and SOAK_DIM (32) set the index; SOAK_PHASE_S (20) the
# length of the search-only phases before and after.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-600}"
build="${2:-build}"
service="$build/examples/http_service/vindex_http_service"
cli="$build/tools/vindex/vindex"
for b in "$service" "$cli"; do
  [ -x "$b" ] || { echo "missing $b (build it first)" >&2; exit 2; }
done
size="${SOAK_SIZE:-20000}"
dim="${SOAK_DIM:-32}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work/base.fvecs" "$size" "$dim" <<'PY'
import random, struct, sys
path, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(1)
with open(path, "wb") as f:
    for _ in range(n):
        f.write(struct.pack("<i%df" % d, d, *(rng.gauss(0, 1) for _ in range(d))))
PY
"$cli" build --spec HNSW16 --input "$work/base.fvecs" --out "$work/soak.vindex" \
  --threads 2 >/dev/null
python3 examples/http_service/soak.py --service "$service" \
  --index "$work/soak.vindex" --dim "$dim" --base-size "$size" \
  --seconds "$seconds" --phase-seconds "${SOAK_PHASE_S:-20}"
