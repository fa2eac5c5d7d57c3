#!/usr/bin/env python3
"""Python's cost over C++: the same saved index searched by the vindex tool
(`vindex eval`, C++) and by the vindex module, at k=10.

Two measurements, each as `vindex eval` makes them:
  * one query per call on the calling thread (mean latency over the first
    --latency-queries queries; Python's overhead per call is the difference);
  * batch QPS: the whole query set per call on a pool of --threads threads,
    repeated for at least 0.2 s.
Each is repeated --repeats times, alternating C++ and Python; the medians are
reported, and for latency also the minima (the least disturbed runs on a
busy machine). Two indexes: Flat over 100 vectors (almost no search work, so
the per-call difference is the bindings' overhead) and HNSW16 over the
dataset (a realistic search).

    PYTHONPATH=build/python python3 python/bench/overhead.py \\
        --cli build/tools/vindex/vindex --data "$VINDEX_DATA_DIR"
"""

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time

import numpy as np
import vindex

NAME = "debian-desc-use512-angular"


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    return raw.reshape(-1, raw[0] + 1)[:, 1:].copy().view(dtype)


def cpp_eval(cli, index_path, queries_path, truth_path, k, ef, threads, latency_queries):
    out = subprocess.run(
        [cli, "eval", "--index", index_path, "--queries", queries_path, "--groundtruth",
         truth_path, "--k", str(k), "--ef", str(ef), "--threads", str(threads),
         "--latency-queries", str(latency_queries)],
        check=True, capture_output=True, text=True).stdout
    qps = float(re.search(r"QPS:\s+([\d.]+)", out).group(1))
    mean_ms = float(re.search(r"mean ([\d.]+) ms", out).group(1))
    return mean_ms * 1e3, qps


def python_eval(index, queries, k, ef, pool, latency_queries):
    start, runs = time.perf_counter(), 0
    while True:
        index.search(queries, k, ef=ef, threads=pool)
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= 0.2:
            break
    qps = runs * len(queries) / elapsed
    lat = []
    for q in queries[:latency_queries]:
        t0 = time.perf_counter()
        index.search(q, k, ef=ef)
        lat.append(time.perf_counter() - t0)
    return statistics.fmean(lat) * 1e6, qps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", required=True, help="the vindex command-line tool")
    parser.add_argument("--data", default=os.environ.get("VINDEX_DATA_DIR", "data"),
                        help="folder with the TEXMEX files (default: $VINDEX_DATA_DIR)")
    parser.add_argument("--base-rows", type=int, default=30000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latency-queries", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    prefix = os.path.join(args.data, NAME)
    base = read_vecs(prefix + "_base.fvecs", np.float32)[: args.base_rows]
    queries_path = prefix + "_query.fvecs"
    queries = read_vecs(queries_path, np.float32)
    pool = vindex.ThreadPool(args.threads)
    print(f"vindex {vindex.isa()}, {len(queries)} queries, k={args.k}, "
          f"batch on {args.threads} threads, {args.repeats} repeats (medians)")
    with tempfile.TemporaryDirectory() as tmp:
        truth_path = os.path.join(tmp, "truth.ivecs")
        for name, factory, rows in (("Flat, 100 vectors", "Flat", 100),
                                    (f"HNSW16, {len(base)} vectors, ef={args.ef}", "HNSW16", len(base))):
            index = vindex.Index(factory, base.shape[1], "cosine")
            index.add(base[:rows], threads=pool)
            path = os.path.join(tmp, "index.vdx")
            index.save(path)
            index = vindex.load(path)  # The very index the tool loads.
            truth = vindex.exact_neighbors(base[:rows], queries, args.k, "cosine", threads=pool)
            with_dim = np.empty((len(truth), args.k + 1), dtype=np.int32)
            with_dim[:, 0] = args.k
            with_dim[:, 1:] = truth
            with_dim.tofile(truth_path)
            cpp, py = [], []
            for _ in range(args.repeats):
                cpp.append(cpp_eval(args.cli, path, queries_path, truth_path, args.k, args.ef,
                                    args.threads, args.latency_queries))
                py.append(python_eval(index, queries, args.k, args.ef, pool, args.latency_queries))
            c_lat = statistics.median(c[0] for c in cpp)
            p_lat = statistics.median(p[0] for p in py)
            c_qps = statistics.median(c[1] for c in cpp)
            p_qps = statistics.median(p[1] for p in py)
            c_min = min(c[0] for c in cpp)
            p_min = min(p[0] for p in py)
            print(f"{name}:")
            print(f"  one query per call: C++ {c_lat:8.1f} us  Python {p_lat:8.1f} us  "
                  f"overhead {p_lat - c_lat:+.1f} us per call (medians)")
            print(f"                      C++ {c_min:8.1f} us  Python {p_min:8.1f} us  "
                  f"overhead {p_min - c_min:+.1f} us per call (minima)")
            print(f"  batch QPS:          C++ {c_qps:8.0f}     Python {p_qps:8.0f}     "
                  f"Python/C++ {p_qps / c_qps:.3f}")


if __name__ == "__main__":
    main()
