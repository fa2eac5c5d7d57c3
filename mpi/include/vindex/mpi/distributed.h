#ifndef VINDEX_MPI_DISTRIBUTED_H_
#define VINDEX_MPI_DISTRIBUTED_H_

// Distributed training, build and sharded batch search over MPI.
//
// Every function here that takes a Communicator is collective: every rank
// calls it, with the same options, at the same time. A failure on any rank
// (bad input, a missing or corrupt shard, an allocation failure) is agreed
// on before the next collective, so every rank returns the same Status and
// none is left waiting.
//
// Exactness: distributed k-means gives the centroids, bit for bit, that the
// single-process k-means gives on the concatenated sample (same seed); a
// sharded Flat or IVF index returns the single-process index's answers
// (ids and distances; ties: smaller id first). This holds on ranks that run
// the same binary with the same SIMD level (VINDEX_ISA).
//
// Thread safety: as the Communicator (one thread per rank at a time).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "vindex/executor.h"
#include "vindex/index.h"
#include "vindex/matrix_view.h"
#include "vindex/mpi/communicator.h"
#include "vindex/mpi/manifest.h"
#include "vindex/options.h"

namespace vindex::mpi {

// ---- training ----

struct DistributedKMeansOptions {
  int k = 0;                          // Centroids, >= 1.
  int iterations = 10;                // Lloyd iterations.
  int max_points_per_centroid = 256;  // Sample cap: k * this points.
  uint64_t seed = 1234;
  bool spherical = false;      // Unit-length centroids after each update.
  bool inner_product = false;  // Assign by largest inner product.
};

// k-means over the rows of all ranks, in rank order: the centroids (k x d,
// row-major, on every rank) equal the single-process k-means on the
// concatenation. Each iteration sums exact fixed-point centroid sums and
// counts with one MPI_Allreduce (2 * k * d + k int64s).
absl::StatusOr<std::vector<float>> DistributedKMeans(
    Communicator& comm, MatrixView<const float> my_rows,
    const DistributedKMeansOptions& options, Executor* executor = nullptr);

// The coarse centroids IVF Train (options as in `ivf`) would learn from the
// concatenation of every rank's `my_samples`.
absl::StatusOr<std::vector<float>> TrainIvfCentroids(
    Communicator& comm, const IvfCommonOptions& ivf,
    MatrixView<const float> my_samples, Executor* executor = nullptr);

// ---- build ----

struct ShardedBuildOptions {
  // The training sample is the first `train_rows` rows of the concatenated
  // input (0: all of it). IVF-PQ gathers this sample on rank 0 to train the
  // codebooks there (then broadcasts the trained quantizer).
  int64_t train_rows = 0;
  // Progress lines, called on rank 0 only.
  std::function<void(std::string_view)> progress;
  // Called on every rank once its shard file is written, before the
  // manifest is (fault-injection point for tests).
  std::function<void()> after_shard_written;
};

// Builds a sharded index of the rows of every rank into folder `dir`, one
// shard per rank: Flat and HNSW shards hold the rows of their rank (a
// disjoint row range); IVF shards hold whole inverted lists (lists are
// assigned to shards by size, largest first, to the least loaded shard, and
// exchanged with MPI_Alltoallv). `my_ids` are the caller ids of my_rows.
// Shards and then the manifest are written atomically; the shards of the
// previous build in `dir` stay valid until the new manifest replaces the
// old one, and are deleted after.
absl::Status BuildShardedIndex(Communicator& comm, const IndexSpec& spec,
                               MatrixView<const float> my_rows,
                               absl::Span<const int64_t> my_ids,
                               const std::string& dir,
                               const ShardedBuildOptions& options = {},
                               Executor* executor = nullptr);

// The same from a vector file (.fvecs, .bvecs or .npy): rank r reads rows
// [r * n / P, (r + 1) * n / P) only; the ids are the row numbers. The spec's
// dim must match the file's.
absl::Status BuildShardedIndexFromFile(Communicator& comm,
                                       const IndexSpec& spec,
                                       const std::string& input,
                                       const std::string& dir,
                                       const ShardedBuildOptions& options = {},
                                       Executor* executor = nullptr);

// ---- search ----

// Per-call options of a distributed search (significant on rank 0).
struct ShardedSearchOptions {
  SearchParams params;  // params.filter is ignored: use allow_list.
  // When non-null, only these ids may be returned: sent once to every rank
  // and applied on every shard.
  const std::vector<int64_t>* allow_list = nullptr;
  // Queries broadcast (and results gathered) per batch of this many rows.
  int64_t batch_rows = 4096;
};

// What a search moved, summed over the call (this rank's view).
struct SearchTraffic {
  int64_t batches = 0;
  int64_t bytes_sent = 0;  // By this rank: probes, results (+ queries on root).
  int64_t bytes_received = 0;  // By this rank.
  // Routed IVF search: queries this rank ran the coarse step for, and
  // queries it scanned (those probing a list it owns).
  int64_t coarse_queries = 0;
  int64_t routed_queries = 0;
};

// A sharded index opened by every rank of a communicator.
// Thread safety: one thread per rank at a time.
class ShardedSearcher {
 public:
  // Collective: rank r loads shard r of the manifest in `dir` (the number of
  // ranks must equal the number of shards); each shard's size and checksum
  // are checked. Fails on every rank when any shard fails.
  static absl::StatusOr<ShardedSearcher> Open(Communicator& comm,
                                              const std::string& dir,
                                              const LoadOptions& load = {});
  // Collective: every rank loads the whole index (a file written by
  // SaveIndexToFile, memory-mapped) and searches a share of each batch.
  static absl::StatusOr<ShardedSearcher> OpenReplicated(
      Communicator& comm, const std::string& index_path);

  // Collective: `queries` and `out` are significant on rank 0 only (other
  // ranks pass empty views); the merged top-k of every query lands in `out`
  // on rank 0. `traffic`, if non-null, receives this rank's byte counts.
  // Each rank passes its own executor; sharded IVF answers are those of one
  // process searching each batch with as many threads as rank 0's executor
  // (the coarse step's GEMM tiling follows the thread count).
  absl::Status Search(MatrixView<const float> queries,
                      const ShardedSearchOptions& options, SearchOutput out,
                      Executor* executor = nullptr,
                      SearchTraffic* traffic = nullptr);

  const Index& local_index() const { return *index_; }
  bool replicated() const { return replicated_; }
  const ShardManifest& manifest() const { return manifest_; }

 private:
  ShardedSearcher(Communicator* comm, std::unique_ptr<Index> index,
                  ShardManifest manifest, bool replicated)
      : comm_(comm),
        index_(std::move(index)),
        manifest_(std::move(manifest)),
        replicated_(replicated) {}
  Communicator* comm_;
  std::unique_ptr<Index> index_;
  ShardManifest manifest_;
  bool replicated_ = false;
};

// ---- one process ----

// Loads every shard of the index in `dir` into one read-only Index whose
// searches merge the shards' answers (no MPI needed). Train, Add and Remove
// are FailedPrecondition; Save is Unimplemented.
absl::StatusOr<std::unique_ptr<Index>> LoadShardedIndex(
    const std::string& dir, const LoadOptions& load = {});

// Merges per-shard top-k lists (each closest first, in natural values of
// `metric`) into the k best, ties by smaller id; missing entries are id -1.
// parts[s] holds shard s's ids and distances for `rows` queries x k.
void MergeTopK(Metric metric, int64_t rows, int k,
               absl::Span<const int64_t* const> part_ids,
               absl::Span<const float* const> part_distances, SearchOutput out);

}  // namespace vindex::mpi

#endif  // VINDEX_MPI_DISTRIBUTED_H_
