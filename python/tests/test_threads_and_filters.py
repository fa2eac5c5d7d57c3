"""Concurrent searches from Python threads, the GIL released during library
calls, threads= / ThreadPool, and every kind of filter."""

import sys
import threading
import time

import numpy as np
import pytest
import vindex
from conftest import DIM, brute_force, clustered


@pytest.fixture(scope="module")
def hnsw():
    rng = np.random.default_rng(11)
    base = clustered(rng, 4000)
    index = vindex.Index("HNSW16", DIM)
    index.add(base)
    return index, base, clustered(rng, 200)


def test_concurrent_searches_from_python_threads(hnsw):
    index, _, queries = hnsw
    expected = {ef: index.search(queries, 10, ef=ef) for ef in (16, 32, 64, 128)}
    results, errors = {}, []

    def worker(t):
        try:
            ef = (16, 32, 64, 128)[t % 4]
            for _ in range(5):
                results.setdefault(t, []).append((ef, index.search(queries, 10, ef=ef)))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for runs in results.values():
        for ef, (d, i) in runs:
            np.testing.assert_array_equal(i, expected[ef][1])
            np.testing.assert_array_equal(d, expected[ef][0])


def test_threads_argument_and_shared_pool_give_the_same_results(hnsw):
    index, base, queries = hnsw
    d, i = index.search(queries, 10)
    pool = vindex.ThreadPool(3)
    assert pool.num_threads == 3
    for threads in (2, pool, 0):
        d2, i2 = index.search(queries, 10, threads=threads)
        np.testing.assert_array_equal(i2, i)
        np.testing.assert_array_equal(d2, d)
    ivf = vindex.Index("IVF32,Flat", DIM)
    ivf.train(base, threads=pool)
    ivf.add(base, threads=pool)
    assert len(ivf) == len(base)


def made_progress_during(call):
    """Whether this (main) thread ran Python while `call` ran in another thread.

    With a switch interval longer than the test, a thread holding the GIL keeps
    it until it blocks; so the main thread only runs while the other thread is
    busy if `call` released the GIL. The call is repeated (up to 50 times)
    until the main thread got a turn, since a quick call may end before the
    main thread wakes."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    started, done, progressed = threading.Event(), [], []

    def run():
        started.set()
        for _ in range(50):
            call()
            if progressed:
                break
        done.append(True)

    worker = threading.Thread(target=run)
    try:
        worker.start()
        started.wait()
        while not done:
            progressed.append(True)
            time.sleep(0)  # Releases the GIL so `run` can go on.
    finally:
        worker.join()
        sys.setswitchinterval(old)
    return bool(progressed)


def test_gil_is_released_during_library_calls(tmp_path):
    rng = np.random.default_rng(5)
    base = clustered(rng, 20000)
    queries = clustered(rng, 3000)
    index = vindex.Index("Flat", DIM)
    assert made_progress_during(lambda: index.add(base))
    assert made_progress_during(lambda: index.search(queries, 10))
    ivf = vindex.Index("IVF64,Flat", DIM)
    assert made_progress_during(lambda: ivf.train(base))
    path = tmp_path / "flat.vdx"
    assert made_progress_during(lambda: index.save(path))
    assert made_progress_during(lambda: vindex.load(path))


@pytest.mark.parametrize("family", ["Flat", "IVF8,Flat", "HNSW16"])
def test_filters(family):
    rng = np.random.default_rng(9)
    base = clustered(rng, 1500)
    queries = clustered(rng, 20)
    ids = np.arange(len(base), dtype=np.int64) + 1000
    index = vindex.Index(family, DIM)
    index.train(base)
    index.add(base, ids)
    allowed = ids[rng.choice(len(ids), 300, replace=False)]
    knobs = dict(nprobe=8, ef=400)
    cases = [
        (vindex.IdFilter.allow_list(allowed), np.isin(ids, allowed)),
        (vindex.IdFilter.deny_list(allowed), ~np.isin(ids, allowed)),
        (vindex.IdFilter.range(1100, 1400), (ids >= 1100) & (ids < 1400)),
        (vindex.IdFilter.predicate(lambda i: i % 7 == 0), ids % 7 == 0),
        (lambda i: i % 5 == 1, ids % 5 == 1),
    ]
    for f, mask in cases:
        _, truth = brute_force(base[mask], queries, 10, "l2", ids=ids[mask])
        _, found = index.search(queries, 10, filter=f, **knobs)
        assert np.isin(found, ids[mask]).all()
        assert np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, found)]) >= 0.9
    # The same predicate on a pool's threads; its exception ends the search.
    _, found = index.search(queries, 10, filter=lambda i: i % 7 == 0, threads=3, **knobs)
    assert (found % 7 == 0).all()

    def broken(i):
        raise LookupError("no such tag")

    with pytest.raises(LookupError, match="no such tag"):
        index.search(queries, 10, filter=broken, threads=2)
    assert vindex.IdFilter.range(3, 5)(4) and not vindex.IdFilter.deny_list([4])(4)
