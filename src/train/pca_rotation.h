#ifndef VINDEX_SRC_TRAIN_PCA_ROTATION_H_
#define VINDEX_SRC_TRAIN_PCA_ROTATION_H_

// Learns the orthogonal rotation into a sample's principal axes: the
// eigenvectors of its covariance (about the mean), largest variance first.
// Applying it keeps every L2 distance, inner product and norm, and puts most
// of each distance into the leading coordinates, where a partial distance
// that is compared against a bound can stop early.

#include <vector>

#include "absl/status/statusor.h"
#include "vindex/matrix_view.h"

namespace vindex::train {

// Returns R, dim x dim floats, row-major: row i is the unit eigenvector of
// the i-th largest eigenvalue of the samples' covariance, signed so that its
// largest-magnitude coordinate is positive (reproducible). The rows are
// orthonormal. The samples must be finite (the caller validates them);
// at most `max_samples` rows are used (evenly spaced over the sample).
// The covariance is accumulated in double.
absl::StatusOr<std::vector<float>> LearnPcaRotation(
    MatrixView<const float> samples, int64_t max_samples = 1 << 17);

}  // namespace vindex::train

#endif  // VINDEX_SRC_TRAIN_PCA_ROTATION_H_
