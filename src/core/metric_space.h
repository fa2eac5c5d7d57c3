#ifndef VINDEX_SRC_CORE_METRIC_SPACE_H_
#define VINDEX_SRC_CORE_METRIC_SPACE_H_

// The conversions between each metric's natural value and the internal
// "smaller is closer" score, and cosine normalisation.

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vindex/matrix_view.h"
#include "vindex/options.h"

namespace vindex::internal {

// Internal scores: L2 -> squared distance; IP and cosine -> -inner product.
inline bool IsSimilarity(Metric m) { return m != Metric::kL2; }

// Converts an internal score to the value reported to callers.
inline float ToNatural(Metric m, float internal) {
  return IsSimilarity(m) ? -internal : internal;
}

// The value reported for a missing result.
inline float MissingDistance(Metric m) {
  return IsSimilarity(m) ? -std::numeric_limits<float>::infinity()
                         : std::numeric_limits<float>::infinity();
}

// Rewrites a result row from internal scores to natural values; entries with
// id -1 get MissingDistance.
inline void ResultsToNatural(Metric m, const int64_t* ids, float* dist, int k) {
  for (int i = 0; i < k; ++i) {
    dist[i] = ids[i] == -1 ? MissingDistance(m) : ToNatural(m, dist[i]);
  }
}

// Copies `in` into dense rows of `out` (rows * cols floats), normalising each
// row to unit length when `normalize`. A zero row cannot be normalised:
// InvalidArgument naming it.
absl::Status CopyRows(MatrixView<const float> in, bool normalize,
                      std::vector<float>* out, const char* what);

// `rows` as `metric` compares them: for cosine, unit-length copies held in
// *storage (InvalidArgument for a zero row, as CopyRows); else `rows` itself.
absl::StatusOr<MatrixView<const float>> RowsForMetric(
    Metric metric, MatrixView<const float> rows, std::vector<float>* storage,
    const char* what);

// Squared norm of a vector (double accumulation; used off the hot path).
double SquaredNorm(const float* x, int64_t d);

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_METRIC_SPACE_H_
