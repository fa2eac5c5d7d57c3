"""Shared data and helpers for the vindex Python tests (small, seconds each)."""

import os

import numpy as np
import pytest

FAMILIES = ["Flat", "IVF16,Flat", "IVF16,PQ8", "IVF16,PQ8x4fs,Rerank", "HNSW16"]
METRICS = ["l2", "ip", "cosine"]
DIM = 32


def clustered(rng, n, dim=DIM, centers=24):
    """Points around a few centres, like real embeddings (float32)."""
    c = rng.standard_normal((centers, dim)).astype(np.float32) * 4
    x = c[rng.integers(0, centers, n)] + rng.standard_normal((n, dim)).astype(np.float32)
    return x.astype(np.float32)


def brute_force(base, queries, k, metric, ids=None):
    """Exact neighbours by numpy: (distances, ids) in the index's convention."""
    if metric == "cosine":
        base = base / np.linalg.norm(base, axis=1, keepdims=True)
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    if metric == "l2":
        score = ((queries[:, None, :].astype(np.float64) - base[None, :, :]) ** 2).sum(-1)
    else:
        score = -(queries.astype(np.float64) @ base.T.astype(np.float64))
    order = np.argsort(score, axis=1, kind="stable")[:, :k]
    rows = np.take_along_axis(score, order, axis=1)
    found = order if ids is None else np.asarray(ids)[order]
    return (rows if metric == "l2" else -rows), found


def recall(truth, found):
    k = truth.shape[1]
    return np.mean([len(set(t) & set(f)) / k for t, f in zip(truth, found)])


def write_fvecs(path, x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.float32)
    out[:, 0] = np.array([x.shape[1]], dtype=np.int32).view(np.float32)[0]
    out[:, 1:] = x
    out.tofile(path)


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:, 1:].copy().view(dtype)


@pytest.fixture(scope="session")
def data():
    rng = np.random.default_rng(7)
    base = clustered(rng, 3000)
    queries = clustered(rng, 40)
    return base, queries


@pytest.fixture
def cli():
    path = os.environ.get("VINDEX_CLI")
    if not path or not os.path.exists(path):
        pytest.skip("the vindex command-line tool was not built (VINDEX_CLI unset)")
    return path
