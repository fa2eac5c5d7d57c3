#ifndef VINDEX_IVF_QUANTIZER_H_
#define VINDEX_IVF_QUANTIZER_H_

// The coarse quantizer of an IVF index (IVF-Flat, IVF-PQ) as plain data, for
// work that happens outside one index: training the centroids elsewhere
// (e.g. k-means across processes), and routing vectors or queries to the
// lists that hold them (e.g. to the shard that owns a list).
// Each call fails with InvalidArgument on an index of another family.
// Thread safety: as the index's own methods.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "vindex/executor.h"
#include "vindex/index.h"
#include "vindex/matrix_view.h"

namespace vindex {

// A copy of the coarse centroids, nlist x dim row-major (unit length for
// inner product and cosine). FailedPrecondition before training.
absl::StatusOr<std::vector<float>> IvfCentroids(const Index& index);

// Trains `index` with the given coarse centroids (nlist x dim) instead of
// running k-means: Train's result when they are the centroids Train would
// find. IVF-PQ learns its codebooks from `samples` as Train does (IVF-Flat
// ignores them; they may be empty). Same errors and atomicity as Train.
absl::Status TrainIvfWithCentroids(Index& index,
                                   MatrixView<const float> centroids,
                                   MatrixView<const float> samples,
                                   Executor* executor = nullptr);

// The list Add would put each row of `vectors` in (one entry per row).
// FailedPrecondition before training.
absl::Status AssignIvfLists(const Index& index, MatrixView<const float> vectors,
                            absl::Span<int32_t> lists,
                            Executor* executor = nullptr);

// Add with each row's list already known (lists[i] in [0, nlist), one per
// row, e.g. from AssignIvfLists elsewhere): Add's result when the lists are
// AssignIvfLists' answer, without assigning again. Same errors and
// atomicity as Add; InvalidArgument for a list out of range.
absl::Status AddIvfWithLists(Index& index, MatrixView<const float> vectors,
                             absl::Span<const int64_t> ids,
                             absl::Span<const int32_t> lists,
                             Executor* executor = nullptr);

// The coarse step of Search for a batch of queries: the lists each query
// would scan (probe: rows x nprobe, closest first, -1 for none) and their
// coarse scores (internal: smaller is closer), with nprobe as
// SearchParams::nprobe (0: the index default) capped at nlist, written to
// *resolved_nprobe unless it is null. FailedPrecondition before training;
// InvalidArgument if probe or coarse is null.
absl::Status ProbeIvfLists(const Index& index, MatrixView<const float> queries,
                           int nprobe, std::vector<int64_t>* probe,
                           std::vector<float>* coarse, int* resolved_nprobe,
                           Executor* executor = nullptr);

// Search after the coarse step: scans only the lists named in `probe` (as
// ProbeIvfLists gives them for this batch; -1 entries are skipped) and
// returns each query's k best among them, in Search's output format.
// params.nprobe is ignored (`nprobe` is the probe row length). The scan is
// the one Search picks for a batch of queries.rows rows, so with
// ProbeIvfLists' output for the same batch this is Search's answer; with
// entries set to -1 it is the k best of the remaining lists, each distance
// bit for bit as Search computes it.
absl::Status SearchIvfProbedLists(const Index& index,
                                  MatrixView<const float> queries,
                                  absl::Span<const int64_t> probe,
                                  absl::Span<const float> coarse, int nprobe,
                                  const SearchParams& params, SearchOutput out,
                                  Executor* executor = nullptr);

}  // namespace vindex

#endif  // VINDEX_IVF_QUANTIZER_H_
