"""Arrays in and out (zero copy, conversions, ownership, reference counts)
and the Status code -> exception table."""

import gc
import os
import sys
import tracemalloc

import numpy as np
import pytest
import vindex
from conftest import DIM


def flat(base):
    index = vindex.Index("Flat", base.shape[1])
    index.add(base)
    return index


def traced_peak(fn):
    """Peak bytes numpy allocated while fn ran (numpy reports to tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_float32_c_contiguous_input_is_not_copied():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50_000, 64)).astype(np.float32)  # 12.8 MB
    size = x.nbytes
    # The index keeps its own copy in C++ memory (not traced): what is traced
    # is any numpy copy the bindings make.
    assert traced_peak(lambda: flat(x)) < size / 10
    assert traced_peak(lambda: flat(x[:, :32])) < size / 10  # Strided rows too.
    # The check sees copies: float64 input is converted once, to float32.
    x64 = x.astype(np.float64)
    assert size <= traced_peak(lambda: flat(x64)) < 2 * size
    index = flat(x[:1000])
    q = x[:20000]
    # Search allocates only its (n, k) outputs.
    outputs = len(q) * 5 * (4 + 8)
    assert traced_peak(lambda: index.search(q, 5)) < outputs + q.nbytes / 10


def test_conversions_give_the_same_results():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((500, DIM)).astype(np.float32)
    index = flat(x)
    d, i = index.search(x[:10], 4)
    for variant in (x[:10].astype(np.float64), np.asfortranarray(x[:10]),
                    x[:10].tolist(), x[:10].astype(">f4")):
        d2, i2 = index.search(variant, 4)
        np.testing.assert_array_equal(i2, i)
        np.testing.assert_allclose(d2, d, rtol=1e-6)
    wide = np.zeros((10, 2 * DIM), dtype=np.float32)
    wide[:, :DIM] = x[:10]
    np.testing.assert_array_equal(index.search(wide[:, :DIM], 4)[1], i)
    np.testing.assert_array_equal(index.search(x[::-1][-10:][::-1], 4)[1], i)
    # A 1-D vector is one query; results stay 2-D.
    d1, i1 = index.search(x[3], 4)
    assert i1.shape == (1, 4)
    np.testing.assert_array_equal(i1[0], i[3])
    # Ids from any integer dtype.
    index2 = vindex.Index("Flat", DIM)
    index2.add(x[:3], np.array([7, 8, 9], dtype=np.int32))
    np.testing.assert_array_equal(index2.search(x[:3], 1)[1][:, 0], [7, 8, 9])


def test_bad_input_names_the_problem():
    index = flat(np.ones((10, DIM), dtype=np.float32))
    with pytest.raises(ValueError, match="query dim 31 != index dim 32"):
        index.search(np.ones((2, 31), dtype=np.float32), 3)
    with pytest.raises(ValueError, match="2-D"):
        index.search(np.ones((2, 2, DIM), dtype=np.float32), 3)
    with pytest.raises(TypeError, match="dtype complex64"):
        index.search(np.ones((2, DIM), dtype=np.complex64), 3)
    with pytest.raises(TypeError, match="dtype <U1"):
        index.search(np.array([["a"] * DIM]), 3)
    with pytest.raises(TypeError, match="ids"):
        index.add(np.ones((1, DIM), dtype=np.float32), np.array([1.5]))
    bad = np.ones((2, DIM), dtype=np.float32)
    bad[1, 5] = np.nan
    with pytest.raises(ValueError, match="(?i)nan"):
        index.add(bad, np.array([100, 101]))
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        index.search(bad[:1], 0)
    with pytest.raises(ValueError, match="metric"):
        vindex.Index("Flat", DIM, "hamming")
    with pytest.raises(TypeError, match="threads"):
        index.search(bad[:1], 1, threads="4")
    with pytest.raises(TypeError, match="filter"):
        index.search(bad[:1], 1, filter=[1, 2])
    assert len(index) == 10  # Failed calls left it as it was.


def test_index_outlives_inputs_and_outputs_own_their_memory():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((200, DIM)).astype(np.float32)
    ids = np.arange(200, dtype=np.int64)
    expected = x[5].copy()
    refs = sys.getrefcount(x), sys.getrefcount(ids)
    index = vindex.Index("HNSW16", DIM)
    index.add(x, ids)
    d, i = index.search(x[:5], 3)
    assert (sys.getrefcount(x), sys.getrefcount(ids)) == refs  # Nothing kept.
    x[:] = 0  # The index copied the vectors when adding.
    del x, ids
    gc.collect()
    np.testing.assert_array_equal(index.get_vectors([5])[0], expected)
    for out in (d, i, index.get_vectors([1, 2])):
        assert out.flags.owndata and out.flags.c_contiguous and out.base is None
    del index
    gc.collect()
    assert d.shape == (5, 3) and i[0, 0] == 0  # Results outlive the index.


def test_real_errors_map_to_python_exceptions(tmp_path):
    x = np.ones((4, DIM), dtype=np.float32) * np.arange(4, dtype=np.float32)[:, None]
    index = flat(x)
    with pytest.raises(KeyError) as e:
        index.remove([12345])
    assert isinstance(e.value, vindex.NotFoundError) and "12345" in str(e.value)
    with pytest.raises(vindex.InvalidArgumentError):
        index.add(x[:1], [0])  # Id 0 already present.
    ivf = vindex.Index("IVF4,Flat", DIM)
    with pytest.raises(vindex.FailedPreconditionError):
        ivf.add(x)
    # Without a GPU: Unimplemented when built without CUDA, FailedPrecondition
    # when built with it.
    with pytest.raises((NotImplementedError, vindex.FailedPreconditionError)):
        vindex.Index(vindex.FlatOptions(dim=DIM, device="gpu")) if vindex.cuda_device_count() == 0 \
            else pytest.skip("a GPU is present")
    with pytest.raises(FileNotFoundError) as e:
        vindex.load(tmp_path / "missing.vdx")
    assert isinstance(e.value, vindex.Error) and "missing.vdx" in str(e.value)
    path = tmp_path / "index.vdx"
    index.save(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(OSError) as e:
        vindex.load(path)
    assert isinstance(e.value, vindex.DataLossError) and e.value.code == "DATA_LOSS"
    with pytest.raises(vindex.DataLossError):
        vindex.deserialize(b"not an index")


# absl::StatusCode values.
CODES = {
    1: ("Error", None),  # CANCELLED
    2: ("Error", None),  # UNKNOWN
    3: ("InvalidArgumentError", ValueError),
    4: ("Error", None),  # DEADLINE_EXCEEDED
    5: ("NotFoundError", KeyError),
    6: ("Error", None),  # ALREADY_EXISTS
    7: ("PermissionDeniedError", PermissionError),
    8: ("ResourceExhaustedError", MemoryError),
    9: ("FailedPreconditionError", None),
    10: ("Error", None),  # ABORTED
    11: ("OutOfRangeError", ValueError),
    12: ("UnimplementedError", NotImplementedError),
    13: ("InternalError", None),
    14: ("UnavailableError", OSError),
    15: ("DataLossError", OSError),
    16: ("Error", None),  # UNAUTHENTICATED
}


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_status_code_maps_to_one_exception(code):
    name, builtin = CODES[code]
    with pytest.raises(vindex.Error) as e:
        vindex._vindex._raise_for_status(code, "what went wrong")
    assert type(e.value) is getattr(vindex, name)
    assert str(e.value) == "what went wrong"
    if builtin is not None:
        assert isinstance(e.value, builtin)
    assert e.value.code != "OK"
    with pytest.raises(FileNotFoundError) if code == 5 else pytest.raises(getattr(vindex, name)):
        vindex._vindex._raise_for_status(code, "x", file=True)
    vindex._vindex._raise_for_status(0, "ok is not an error")
