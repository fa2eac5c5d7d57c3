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

}  // namespace vindex

#endif  // VINDEX_IVF_QUANTIZER_H_
