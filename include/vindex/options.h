#ifndef VINDEX_OPTIONS_H_
#define VINDEX_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <string_view>
#include <variant>

namespace vindex {

class IdFilter;

// How closeness is measured. Inside vindex smaller is always closer; the
// distances a search returns are each metric's natural value:
//   kL2:           squared Euclidean distance (ascending).
//   kInnerProduct: the inner product <q, x> (descending: larger is closer).
//   kCosine:       cosine similarity in [-1, 1] (descending). Vectors are
//                  normalised when added and queries when searched; a zero
//                  vector is rejected.
enum class Metric : uint32_t { kL2 = 0, kInnerProduct = 1, kCosine = 2 };

// Where an index lives. kAuto picks the GPU when one is usable, else the CPU.
// The GPU backend has never run on a GPU: it is unverified until
// cuda/device_check.sh passes on one.
enum class Device : uint32_t { kCpu = 0, kGpu = 1, kAuto = 2 };

// The index families; the values are stored in saved files. kRotated is a
// learned rotation in front of another family ("Rot,<inner>"); such an index
// reports its inner family in IndexInfo (its search knobs are the inner's),
// and kRotated appears in its saved file.
enum class IndexFamily : uint32_t {
  kFlat = 1,
  kIvfFlat = 2,
  kIvfPq = 3,
  kHnsw = 4,
  kRotated = 5
};

std::string_view MetricName(Metric metric);
std::string_view DeviceName(Device device);
std::string_view IndexFamilyName(IndexFamily family);

// Exact search: every query is compared with every stored vector.
struct FlatOptions {
  int dim = 0;                  // Vector dimension, >= 1. Required.
  Metric metric = Metric::kL2;  // See Metric.
  Device device = Device::kCpu;
};

// Optional training progress of an IVF index's coarse quantizer: called on
// the thread running Train after each k-means (Lloyd) iteration with the
// iteration (from 1) and the objective at that iteration's assignment: the
// sum over the training sample of squared distances to the assigned
// centroids (L2, cosine; it does not increase unless an empty cluster was
// re-seeded), or -sum <x, centroid> (inner product; the mean update need
// not lower it). Not saved with the index.
using KMeansProgress = std::function<void(int iteration, double objective)>;

// The options every IVF family shares. IvfFlatOptions and IvfPqOptions hold
// them as their `ivf` member, so they are written once:
//   IvfPqOptions{.ivf = {.dim = 128, .nlist = 4096}, .pq_m = 32}
struct IvfCommonOptions {
  // Vector dimension. Required: >= 1 (IVF-PQ: a multiple of pq_m).
  int dim = 0;
  // How closeness is measured; see Metric. Default kL2.
  Metric metric = Metric::kL2;
  // Where the index lives; see Device. Default kCpu.
  Device device = Device::kCpu;
  // Lists: the centroids of the k-means coarse quantizer. Default 1024;
  // >= 1, and Train needs at least nlist vectors.
  // Hint: about 4 to 16 x sqrt(n) for n vectors. More lists make a search at
  // a given nprobe faster and training slower, and need a larger nprobe for
  // the same recall.
  int nlist = 1024;
  // Lists scanned per query when SearchParams::nprobe is 0 (at most nlist
  // are scanned). Default 8, in [1, 2^20].
  // Hint: recall rises and speed falls with nprobe; `vindex tune` (or
  // vindex::Tune) finds the smallest that reaches a recall target.
  int default_nprobe = 8;
  // Lloyd iterations of k-means when training. Default 10, in [0, 1000].
  int kmeans_iterations = 10;
  // The training sample is capped at nlist * this many vectors. Default 256,
  // in [1, 2^20].
  int max_points_per_centroid = 256;
  // Makes training reproducible. Default 1234.
  uint64_t seed = 1234;
  // Optional; see KMeansProgress. Not saved with the index.
  KMeansProgress kmeans_progress;
};

// Inverted file with exact vectors in each list: train a coarse quantizer of
// `ivf.nlist` centroids, then scan the `nprobe` closest lists per query.
struct IvfFlatOptions {
  IvfCommonOptions ivf;  // See IvfCommonOptions.
};

// Inverted file with product-quantized residuals (`pq_m` sub-quantizers of
// `pq_bits` bits each: 8 = lookup-table scan, 4 = SIMD fast-scan), with an
// optional exact re-rank from kept raw vectors.
struct IvfPqOptions {
  IvfCommonOptions ivf;  // See IvfCommonOptions.
  // Sub-quantizers; must divide ivf.dim. Default 16.
  // Hint: code bytes per vector = pq_m * pq_bits / 8; more raise the recall
  // ceiling and cost memory and scan time.
  int pq_m = 16;
  // Bits per sub-quantizer code: 8 or 4 (4 uses the fast-scan layout).
  // Default 8.
  int pq_bits = 8;
  // Keeps each exact vector beside its code (dim * 4 bytes per vector), for
  // GetVectors and exact re-rank. Default false.
  bool keep_raw_vectors = false;
  // Re-rank factor when SearchParams::rerank_factor is 0; 0 = no re-rank
  // unless a search asks. Default 0, in [0, 1024]; > 0 needs
  // keep_raw_vectors.
  int default_rerank_factor = 0;
  // Cap on the sample the PQ codebooks are trained on. Default 65536, in
  // [1, 2^24].
  int pq_training_points = 65536;
};

// Hierarchical navigable small-world graph.
struct HnswOptions {
  // What the search walks: the float vectors, or a compressed copy kept next
  // to each node's links (8-bit scalar-quantized: 1 byte per dimension;
  // 4-bit: half a byte; fp16: 2 bytes) whose ef best candidates are then
  // re-ranked exactly from the float vectors (which are then kept apart:
  // memory grows by the copy). With kSq4 each level-0 block is padded to
  // whole 64-byte lines, so a node's codes up to 128 dimensions sit in one
  // cache line.
  enum class Traversal : uint32_t { kFloat = 0, kSq8 = 1, kFp16 = 2, kSq4 = 3 };
  int dim = 0;
  Metric metric = Metric::kL2;
  Device device = Device::kCpu;
  // Links per node on upper levels, in [2, 256]; level 0 holds up to 2 * m.
  // More = better recall at a given ef, more memory (8 * m bytes per node)
  // and slower inserts.
  int m = 32;
  // Candidate list size while inserting, in [1, 65536]; higher = better
  // graph, slower build.
  int ef_construction = 200;
  // Candidate list size when SearchParams::ef is 0 (always raised to k), in
  // [1, 65536].
  int default_ef = 64;
  // Makes level assignment reproducible (with a null executor, the whole
  // graph is reproducible).
  uint64_t seed = 100;
  Traversal traversal = Traversal::kFloat;
  // How a new node fills the links its diversity heuristic leaves free, in
  // [1, 2]: 1 (the default) leaves them free, as hnswlib and FAISS do; above
  // 1 they go to the nearest candidates the heuristic pruned that no kept
  // link is alpha times closer to (squared L2; cosine as the squared L2 of
  // unit vectors; inner-product graphs ignore it). More links per node: a
  // given recall at a smaller ef, but more work per step and a slower
  // build, so it pays where the recall sought needs ef well above k (factory
  // token "alpha1.1"; docs/parameters.md). Saved with the index.
  float alpha = 1.0f;
};

// The options of any family; MakeIndex(IndexSpec) builds the matching index.
using IndexSpec =
    std::variant<FlatOptions, IvfFlatOptions, IvfPqOptions, HnswOptions>;

// Per-call search parameters. Knobs an index does not use are ignored; 0
// means "the index's default". Nothing here is stored on the index, so
// concurrent searches may use different parameters.
struct SearchParams {
  // Results per query, in [1, kMaxK]. Missing results are padded. Memory per
  // query grows with k whatever the index size; a larger k is
  // InvalidArgument, and a search whose buffers do not fit in memory is
  // ResourceExhausted.
  int k = 10;
  const IdFilter* filter = nullptr;  // Optional; must outlive the call.
  int nprobe = 0;                    // IVF: lists scanned per query.
  int ef = 0;  // HNSW: candidate list size (raised to k if smaller).
  // IVF-PQ: collect k * rerank_factor candidates by code distance and
  // re-rank them with exact distances (needs keep_raw_vectors). 0 means the
  // index's default_rerank_factor; kNoRerank means no re-rank even on an
  // index whose default re-ranks (results are then code distances); 1
  // re-scores only the k results exactly. Other negative values are
  // InvalidArgument.
  int rerank_factor = 0;
  static constexpr int kNoRerank = -1;
  static constexpr int kMaxK = 1 << 20;
};

}  // namespace vindex

#endif  // VINDEX_OPTIONS_H_
