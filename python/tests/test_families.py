"""Every family and metric: recall against exact neighbours, save/load/mmap,
pickling, and results equal to the C++ command-line tool's."""

import pickle
import subprocess

import numpy as np
import pytest
import vindex
from conftest import DIM, FAMILIES, METRICS, brute_force, read_vecs, recall, write_fvecs

K = 10
# Recall floors on this clustered data at the knobs below (exact for Flat).
# (HNSW on inner product, a non-metric score, is the known weak case.)
FLOORS = {"Flat": 1.0, "IVF16,Flat": 0.95, "IVF16,PQ8": 0.4,
          "IVF16,PQ8x4fs,Rerank": 0.95, "HNSW16": 0.95, ("HNSW16", "ip"): 0.75}
KNOBS = dict(nprobe=8, ef=64)


def knobs(factory):
    return dict(KNOBS, rerank_factor=64) if "Rerank" in factory else KNOBS


def build(factory, metric, base):
    index = vindex.Index(factory, DIM, metric)
    index.train(base)
    index.add(base, np.arange(len(base), dtype=np.int64) * 3 + 1)
    return index


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("factory", FAMILIES)
def test_recall_and_round_trips(tmp_path, data, factory, metric):
    base, queries = data
    index = build(factory, metric, base)
    info = index.info
    assert (info.dim, info.size, info.metric, info.trained) == (DIM, len(base), metric, True)
    assert len(index) == len(base)

    distances, ids = index.search(queries, K, **knobs(factory))
    assert distances.shape == ids.shape == (len(queries), K)
    assert distances.dtype == np.float32 and ids.dtype == np.int64
    true_d, true_ids = brute_force(base, queries, K, metric, ids=np.arange(len(base)) * 3 + 1)
    assert recall(true_ids, ids) >= FLOORS.get((factory, metric), FLOORS[factory])
    if factory == "Flat":
        np.testing.assert_allclose(distances, true_d, rtol=1e-4, atol=1e-3)
    # Closest first in each metric's natural order.
    step = np.diff(distances, axis=1)
    assert (step >= -1e-6).all() if metric == "l2" else (step <= 1e-6).all()

    path = tmp_path / "index.vdx"
    index.save(path)
    for mmap in (False, True):
        loaded = vindex.load(str(path), mmap=mmap)
        assert loaded.info.memory_mapped == mmap
        d2, i2 = loaded.search(queries, K, **knobs(factory))
        np.testing.assert_array_equal(i2, ids)
        np.testing.assert_array_equal(d2, distances)
    for copy in (pickle.loads(pickle.dumps(index)), vindex.deserialize(index.serialize())):
        d3, i3 = copy.search(queries, K, **knobs(factory))
        np.testing.assert_array_equal(i3, ids)
        np.testing.assert_array_equal(d3, distances)


@pytest.mark.parametrize("metric", METRICS)
def test_option_objects_build_the_same_index_as_factories(data, metric):
    base, queries = data
    specs = {
        "Flat": vindex.FlatOptions(dim=DIM, metric=metric),
        "IVF16,Flat": vindex.IvfFlatOptions(dim=DIM, metric=metric, nlist=16),
        "IVF16,PQ8": vindex.IvfPqOptions(dim=DIM, metric=metric, nlist=16, pq_m=8),
        "HNSW16": vindex.HnswOptions(dim=DIM, metric=metric, m=16),
    }
    for factory, spec in specs.items():
        a, b = build(factory, metric, base), vindex.Index(spec)
        b.train(base)
        b.add(base, np.arange(len(base), dtype=np.int64) * 3 + 1)
        assert b.info.description == a.info.description
        np.testing.assert_array_equal(a.search(queries, K)[1], b.search(queries, K)[1])


def test_knobs_and_progress_callback(data):
    base, queries = data
    seen = []
    spec = vindex.IvfPqOptions(dim=DIM, nlist=16, pq_m=8, keep_raw_vectors=True,
                               kmeans_iterations=4,
                               kmeans_progress=lambda it, obj: seen.append((it, obj)))
    assert spec.kmeans_progress is not None
    index = vindex.Index(spec)
    index.train(base)
    assert [it for it, _ in seen] == [1, 2, 3, 4]
    index.add(base)
    _, truth = brute_force(base, queries, K, "l2")
    low = recall(truth, index.search(queries, K, nprobe=1, rerank_factor=-1)[1])
    high = recall(truth, index.search(queries, K, nprobe=16, rerank_factor=8)[1])
    assert high > low and high >= 0.95


def test_hnsw_traversals_and_remove_get_vectors(data):
    base, queries = data
    for traversal in ("float", "sq8", "sq4", "fp16"):
        index = vindex.Index(vindex.HnswOptions(dim=DIM, m=16, traversal=traversal))
        index.add(base)
        _, truth = brute_force(base, queries, K, "l2")
        assert recall(truth, index.search(queries, K, ef=64)[1]) >= 0.9
    index.remove(np.array([0, 5]))
    assert len(index) == len(base) - 2
    got = index.get_vectors(np.array([1, 7]))
    np.testing.assert_array_equal(got, base[[1, 7]])
    assert 0 not in index.search(base[:1], K)[1]


def test_hnsw_alpha_is_an_option_and_a_factory_token(data):
    base, queries = data
    index = vindex.Index(vindex.HnswOptions(dim=DIM, m=16, alpha=1.1))
    index.add(base)
    _, truth = brute_force(base, queries, K, "l2")
    assert recall(truth, index.search(queries, K, ef=64)[1]) >= 0.9
    assert index.info.description == "HNSW16,alpha1.1"
    with pytest.raises(ValueError):
        vindex.Index(vindex.HnswOptions(dim=DIM, alpha=0.5))


def test_tune_reaches_the_target(data):
    base, queries = data
    index = build("IVF16,Flat", "l2", base)
    result = vindex.tune(index, queries, k=K, target_recall=0.9, base=base,
                         base_ids=np.arange(len(base)) * 3 + 1, min_seconds_per_point=0.0)
    assert result.reached and result.best.recall >= 0.9
    assert 1 <= result.best.nprobe <= 16 and len(result.tried) >= 1
    _, truth = brute_force(base, queries, K, "l2", ids=np.arange(len(base)) * 3 + 1)
    found = index.search(queries, K, **result.best.search_kwargs)[1]
    assert abs(recall(truth, found) - result.best.recall) < 1e-9
    exact = vindex.exact_neighbors(base, queries, K, base_ids=np.arange(len(base)) * 3 + 1)
    assert vindex.recall_at_k(truth, exact, K) == 1.0


@pytest.mark.parametrize("factory", ["HNSW16", "IVF16,PQ8x4fs,Rerank"])
def test_results_equal_the_cpp_tool(tmp_path, data, cli, factory):
    base, queries = data
    write_fvecs(tmp_path / "base.fvecs", base)
    write_fvecs(tmp_path / "q.fvecs", queries)

    def cpp_search(index_path):
        flags = ["--k", str(K), "--nprobe", "8", "--ef", "64", "--threads", "1"]
        flags += ["--rerank", "64"] if "Rerank" in factory else []
        for out in ("ids.ivecs", "d.fvecs"):
            subprocess.run([cli, "search", "--index", str(index_path), "--queries",
                            str(tmp_path / "q.fvecs"), "--out", str(tmp_path / out)] + flags,
                           check=True, capture_output=True)
        return read_vecs(tmp_path / "d.fvecs", np.float32), read_vecs(tmp_path / "ids.ivecs", np.int32)

    # An index built by Python, searched by C++; and one built by C++ (same
    # spec and seeds), loaded and searched by Python.
    ours = vindex.Index(factory, DIM, "cosine")
    ours.train(base)
    ours.add(base)
    ours.save(tmp_path / "py.vdx")
    subprocess.run([cli, "build", "--spec", factory, "--metric", "cosine", "--input",
                    str(tmp_path / "base.fvecs"), "--out", str(tmp_path / "cpp.vdx"),
                    "--threads", "1"], check=True, capture_output=True)
    for path in ("py.vdx", "cpp.vdx"):
        cpp_d, cpp_ids = cpp_search(tmp_path / path)
        py_d, py_ids = vindex.load(tmp_path / path).search(queries, K, **knobs(factory))
        np.testing.assert_array_equal(py_ids, cpp_ids)
        np.testing.assert_array_equal(py_d, cpp_d)
