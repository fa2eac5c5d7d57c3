#!/usr/bin/env python3
"""An ann-benchmarks-style evaluation: build indexes, sweep a search knob,
measure recall@k and queries per second, and plot recall against QPS.

Input is an ann-benchmarks HDF5 file (datasets train, test, neighbors; the
attribute distance is "euclidean" or "angular"). --from-fvecs writes one from
a TEXMEX dataset (NAME_base.fvecs, NAME_query.fvecs, NAME_groundtruth.ivecs):

    python3 examples/python/ann_eval.py --hdf5 /tmp/debian.hdf5 \\
        --from-fvecs "$VINDEX_DATA_DIR"/debian-desc-use512-angular \\
        --spec HNSW16 --spec IVF256,Flat --plot /tmp/debian.png --csv /tmp/debian.csv

QPS is measured like ann-benchmarks: one query per call on one thread
(--batch: the whole query set per call on --threads threads).
"""

import argparse
import csv
import time

import h5py
import numpy as np
import vindex


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    return raw.reshape(-1, raw[0] + 1)[:, 1:].copy().view(dtype)


def write_hdf5_from_fvecs(prefix, out):
    metric = "angular" if prefix.rstrip("/").endswith("angular") else "euclidean"
    with h5py.File(out, "w") as f:
        f.attrs["distance"] = metric
        f.create_dataset("train", data=read_vecs(prefix + "_base.fvecs", np.float32))
        f.create_dataset("test", data=read_vecs(prefix + "_query.fvecs", np.float32))
        f.create_dataset("neighbors", data=read_vecs(prefix + "_groundtruth.ivecs", np.int32))


def knob_values(index, k):
    family = index.info.family
    if family == "HNSW":
        return "ef", [k, 2 * k, 4 * k, 8 * k, 16 * k, 32 * k]
    if family.startswith("IVF"):
        nlist = int(index.info.description.split(",")[0][3:])
        values, v = [], 1
        while v <= nlist:
            values.append(v)
            v *= 2
        return "nprobe", values
    return None, [0]


def measure(index, queries, k, knobs, batch, threads):
    if batch:
        pool = vindex.ThreadPool(threads)
        start, runs = time.perf_counter(), 0
        while True:
            _, found = index.search(queries, k, threads=pool, **knobs)
            runs += 1
            elapsed = time.perf_counter() - start
            if elapsed >= 0.5:
                return found, runs * len(queries) / elapsed
    found = np.empty((len(queries), k), dtype=np.int64)
    start = time.perf_counter()
    for i, q in enumerate(queries):
        found[i] = index.search(q, k, **knobs)[1][0]
    return found, len(queries) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hdf5", required=True, help="ann-benchmarks HDF5 file")
    parser.add_argument("--from-fvecs", metavar="PREFIX", help="write --hdf5 from PREFIX_*.fvecs first")
    parser.add_argument("--spec", action="append", help="factory string (repeatable); default HNSW16")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--queries", type=int, default=1000, help="use the first N test queries")
    parser.add_argument("--batch", action="store_true", help="batch QPS instead of one query per call")
    parser.add_argument("--threads", type=int, default=0, help="build (and --batch) threads; 0 = all cores")
    parser.add_argument("--csv", help="write the points here")
    parser.add_argument("--plot", help="write the recall-QPS plot here (.png, .svg, .pdf)")
    args = parser.parse_args()

    if args.from_fvecs:
        write_hdf5_from_fvecs(args.from_fvecs, args.hdf5)
    with h5py.File(args.hdf5, "r") as f:
        train = np.asarray(f["train"], dtype=np.float32)
        test = np.asarray(f["test"], dtype=np.float32)[: args.queries]
        truth = np.asarray(f["neighbors"])[: args.queries, : args.k]
        metric = {"euclidean": "l2", "angular": "cosine"}[str(f.attrs["distance"])]

    rows = []
    for spec in args.spec or ["HNSW16"]:
        index = vindex.Index(spec, train.shape[1], metric)
        start = time.perf_counter()
        index.train(train, threads=args.threads)
        index.add(train, threads=args.threads)
        build = time.perf_counter() - start
        name, values = knob_values(index, args.k)
        print(f"{spec}: built in {build:.1f} s")
        for value in values:
            knobs = {name: value} if name else {}
            found, qps = measure(index, test, args.k, knobs, args.batch, args.threads)
            recall = vindex.recall_at_k(truth, found, args.k)
            rows.append(dict(spec=spec, knob=name or "-", value=value, recall=recall, qps=qps, build_s=build))
            print(f"  {name or '-'}={value:<5} recall@{args.k}={recall:.4f}  QPS={qps:,.0f}")
            if recall >= 0.999:
                break

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 5))
        for spec in dict.fromkeys(r["spec"] for r in rows):
            pts = [r for r in rows if r["spec"] == spec]
            ax.plot([r["recall"] for r in pts], [r["qps"] for r in pts], "o-", label=spec)
        ax.set_yscale("log")
        ax.set_xlabel(f"recall@{args.k}")
        ax.set_ylabel("queries per second" + (" (batch)" if args.batch else " (one per call)"))
        ax.set_title(f"vindex {vindex.isa()}: {args.hdf5.rsplit('/', 1)[-1]}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        print("wrote", args.plot)


if __name__ == "__main__":
    main()
