# Type stubs for vindex (the classes live in the extension vindex._vindex).
import os
from typing import Any, Callable, Literal, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._errors import (
    DataLossError as DataLossError,
    Error as Error,
    FailedPreconditionError as FailedPreconditionError,
    InternalError as InternalError,
    InvalidArgumentError as InvalidArgumentError,
    MissingFileError as MissingFileError,
    NotFoundError as NotFoundError,
    OutOfRangeError as OutOfRangeError,
    PermissionDeniedError as PermissionDeniedError,
    ResourceExhaustedError as ResourceExhaustedError,
    UnavailableError as UnavailableError,
    UnimplementedError as UnimplementedError,
)

__version__: str

MetricName = Literal["l2", "ip", "inner_product", "cosine"]
DeviceName = Literal["cpu", "gpu", "auto"]
Vectors = npt.ArrayLike  # (n, dim) or (dim,); float32 C order is used in place.
Ids = npt.ArrayLike  # 1-D integers (int64 used in place).
Threads = Union[None, int, "ThreadPool"]
PathLike = Union[str, "os.PathLike[str]"]
KMeansProgress = Optional[Callable[[int, float], Any]]

class ThreadPool:
    """A fixed pool of worker threads to pass as threads=, shared by calls."""
    def __init__(self, num_threads: int = 0) -> None: ...
    @property
    def num_threads(self) -> int: ...

class FlatOptions:
    """Exact search: every query is compared with every stored vector."""
    dim: int
    metric: str
    device: str
    def __init__(self, *, dim: int = 0, metric: MetricName = "l2", device: DeviceName = "cpu") -> None: ...

class IvfFlatOptions:
    """Inverted file with exact vectors: scan the nprobe closest of nlist lists."""
    dim: int
    metric: str
    device: str
    nlist: int
    default_nprobe: int
    kmeans_iterations: int
    max_points_per_centroid: int
    seed: int
    kmeans_progress: KMeansProgress
    def __init__(self, *, dim: int = 0, metric: MetricName = "l2", device: DeviceName = "cpu",
                 nlist: int = 1024, default_nprobe: int = 8, kmeans_iterations: int = 10,
                 max_points_per_centroid: int = 256, seed: int = 1234,
                 kmeans_progress: KMeansProgress = None) -> None: ...

class IvfPqOptions:
    """Inverted file with product-quantized residuals, optional exact re-rank."""
    dim: int
    metric: str
    device: str
    nlist: int
    pq_m: int
    pq_bits: int
    keep_raw_vectors: bool
    default_nprobe: int
    default_rerank_factor: int
    kmeans_iterations: int
    max_points_per_centroid: int
    pq_training_points: int
    seed: int
    kmeans_progress: KMeansProgress
    def __init__(self, *, dim: int = 0, metric: MetricName = "l2", device: DeviceName = "cpu",
                 nlist: int = 1024, pq_m: int = 16, pq_bits: int = 8,
                 keep_raw_vectors: bool = False, default_nprobe: int = 8,
                 default_rerank_factor: int = 0, kmeans_iterations: int = 10,
                 max_points_per_centroid: int = 256, pq_training_points: int = 65536,
                 seed: int = 1234, kmeans_progress: KMeansProgress = None) -> None: ...

class HnswOptions:
    """Hierarchical navigable small-world graph."""
    dim: int
    metric: str
    device: str
    m: int
    ef_construction: int
    default_ef: int
    seed: int
    traversal: str
    alpha: float
    def __init__(self, *, dim: int = 0, metric: MetricName = "l2", device: DeviceName = "cpu",
                 m: int = 32, ef_construction: int = 200, default_ef: int = 64, seed: int = 100,
                 traversal: Literal["float", "sq8", "sq4", "fp16"] = "float",
                 alpha: float = 1.0) -> None: ...

Options = Union[FlatOptions, IvfFlatOptions, IvfPqOptions, HnswOptions]

class IdFilter:
    """Restricts a search to some ids (see the factories)."""
    @staticmethod
    def allow_list(ids: Ids) -> IdFilter: ...
    @staticmethod
    def deny_list(ids: Ids) -> IdFilter: ...
    @staticmethod
    def range(begin: int, end: int) -> IdFilter: ...
    @staticmethod
    def predicate(fn: Callable[[int], bool]) -> IdFilter: ...
    @property
    def kind(self) -> str: ...
    def __call__(self, id: int) -> bool: ...

Filter = Union[None, IdFilter, Callable[[int], bool]]

class IndexInfo:
    @property
    def family(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def dim(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def trained(self) -> bool: ...
    @property
    def memory_bytes(self) -> int: ...
    @property
    def memory_mapped(self) -> bool: ...
    @property
    def description(self) -> str: ...

class Capabilities:
    @property
    def needs_training(self) -> bool: ...
    @property
    def remove(self) -> bool: ...
    @property
    def get_vectors(self) -> bool: ...
    @property
    def filter(self) -> bool: ...
    @property
    def add_during_search(self) -> bool: ...

class Index:
    """A vector index: Flat, IVF-Flat, IVF-PQ or HNSW (see help(vindex.Index))."""
    def __init__(self, factory: Union[str, Options], dim: int = ..., metric: MetricName = "l2") -> None: ...
    @property
    def info(self) -> IndexInfo: ...
    @property
    def capabilities(self) -> Capabilities: ...
    @property
    def dim(self) -> int: ...
    @property
    def metric(self) -> str: ...
    def __len__(self) -> int: ...
    def train(self, samples: Vectors, *, threads: Threads = None) -> None: ...
    def add(self, vectors: Vectors, ids: Optional[Ids] = None, *, threads: Threads = None) -> None: ...
    def search(self, queries: Vectors, k: int = 10, *, nprobe: int = 0, ef: int = 0,
               rerank_factor: int = 0, filter: Filter = None, threads: Threads = None
               ) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]: ...
    def remove(self, ids: Ids) -> None: ...
    def get_vectors(self, ids: Ids) -> npt.NDArray[np.float32]: ...
    def save(self, path: PathLike) -> None: ...
    def serialize(self) -> bytes: ...

def load(path: PathLike, mmap: bool = False) -> Index: ...
def deserialize(data: bytes) -> Index: ...

class TunePoint:
    @property
    def k(self) -> int: ...
    @property
    def nprobe(self) -> int: ...
    @property
    def ef(self) -> int: ...
    @property
    def rerank_factor(self) -> int: ...
    @property
    def search_kwargs(self) -> dict: ...
    @property
    def recall(self) -> float: ...
    @property
    def qps(self) -> float: ...

class TuneResult:
    @property
    def best(self) -> TunePoint: ...
    @property
    def reached(self) -> bool: ...
    @property
    def tried(self) -> Sequence[TunePoint]: ...

def tune(index: Index, queries: Vectors, *, k: int = 10, target_recall: float = 0.95,
         groundtruth: Optional[npt.ArrayLike] = None, base: Optional[Vectors] = None,
         base_ids: Optional[Ids] = None, max_knob: int = 0,
         min_seconds_per_point: float = 0.05, threads: Threads = None) -> TuneResult: ...
def exact_neighbors(base: Vectors, queries: Vectors, k: int, metric: MetricName = "l2", *,
                    base_ids: Optional[Ids] = None, threads: Threads = None) -> npt.NDArray[np.int64]: ...
def recall_at_k(truth: npt.ArrayLike, found: npt.ArrayLike, k: int) -> float: ...
def isa() -> str: ...
def cuda_device_count() -> int: ...
