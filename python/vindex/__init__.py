"""vindex: embedded vector retrieval (Flat, IVF-Flat, IVF-PQ, HNSW).

    import numpy as np, vindex
    index = vindex.Index("HNSW32", 128, "cosine")
    index.add(vectors)                      # float32 (n, 128); ids 0..n-1
    distances, ids = index.search(queries, k=10, ef=64)
    index.save("vectors.vdx")
    index = vindex.load("vectors.vdx", mmap=True)

See help(vindex.Index) for arrays, threads and errors.
"""

from ._errors import (
    DataLossError,
    Error,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    MissingFileError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnavailableError,
    UnimplementedError,
)
from ._vindex import (
    Capabilities,
    FlatOptions,
    HnswOptions,
    IdFilter,
    Index,
    IndexInfo,
    IvfFlatOptions,
    IvfPqOptions,
    ThreadPool,
    TunePoint,
    TuneResult,
    cuda_device_count,
    deserialize,
    exact_neighbors,
    isa,
    load,
    recall_at_k,
    tune,
)

__version__ = "0.1.0"

__all__ = [
    "Capabilities",
    "DataLossError",
    "Error",
    "FailedPreconditionError",
    "FlatOptions",
    "HnswOptions",
    "IdFilter",
    "Index",
    "IndexInfo",
    "InternalError",
    "InvalidArgumentError",
    "IvfFlatOptions",
    "IvfPqOptions",
    "MissingFileError",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "ThreadPool",
    "TunePoint",
    "TuneResult",
    "UnavailableError",
    "UnimplementedError",
    "cuda_device_count",
    "deserialize",
    "exact_neighbors",
    "isa",
    "load",
    "recall_at_k",
    "tune",
]

# Show the public names as vindex.X (not vindex._vindex.X) in reprs and help().
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
