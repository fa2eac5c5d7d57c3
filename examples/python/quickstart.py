#!/usr/bin/env python3
"""vindex from Python in one page: build, search, filter, save, load.

    PYTHONPATH=build/python python3 examples/python/quickstart.py
(or after `pip install .`, just python3 examples/python/quickstart.py)
"""

import os
import tempfile

import numpy as np
import vindex

rng = np.random.default_rng(0)
dim = 64
vectors = rng.standard_normal((20_000, dim), dtype=np.float32)
ids = np.arange(20_000, dtype=np.int64) * 10  # Any int64 except -1.
queries = vectors[:5] + 0.01 * rng.standard_normal((5, dim), dtype=np.float32)

# HNSW needs no training; IVF indexes do (index.train(sample) first).
index = vindex.Index("HNSW32", dim, metric="l2")
pool = vindex.ThreadPool(0)  # One thread per core, shared by the calls below.
index.add(vectors, ids, threads=pool)  # float32 C-order rows are read in place.
print(index, index.info.memory_bytes // 1024, "KiB", "isa:", vindex.isa())

distances, found = index.search(queries, k=5, ef=64)  # (5, 5) float32 and int64
print("nearest ids:\n", found)
print("squared L2 distances:\n", distances.round(3))

# Only ids in [0, 100000): the first 10,000 vectors.
_, in_range = index.search(queries, k=3, filter=vindex.IdFilter.range(0, 100_000))
print("filtered:", in_range[:, 0])

index.remove(found[:, 0])
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "vectors.vdx")
    index.save(path)
    loaded = vindex.load(path, mmap=True)  # Served from the page cache.
    print("loaded", loaded, "mapped:", loaded.info.memory_mapped)
    print("after remove, nearest:", loaded.search(queries, k=1)[1].ravel())

try:
    index.search(np.zeros((1, dim + 1), dtype=np.float32), k=5)
except ValueError as e:  # vindex.InvalidArgumentError
    print("bad query:", e)
