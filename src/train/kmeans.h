#ifndef VINDEX_SRC_TRAIN_KMEANS_H_
#define VINDEX_SRC_TRAIN_KMEANS_H_

// Lloyd's k-means for IVF coarse quantizers and PQ codebooks.
//
// Reproducibility: the result depends only on the data, the options and the
// seed, never on the executor or its thread count. Assignment runs through
// the GEMM wrapper over fixed tiles (so every point's distances are computed
// the same way whatever the parallel split), and centroid sums are exact:
// each coordinate is turned into a 128-bit fixed-point integer with a scale
// set by the sample's largest magnitude, so the sums do not depend on the
// order of the points, and a sample split across processes (KMeansPartition)
// gives the same centroids, bit for bit, as the whole sample in one.

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "vindex/executor.h"
#include "vindex/matrix_view.h"

namespace vindex::train {

struct KMeansOptions {
  int k = 0;            // Centroids, >= 1 and <= the points given.
  int iterations = 10;  // Lloyd iterations (assign + update).
  int max_points_per_centroid =
      256;               // The sample is capped at k * this points.
  uint64_t seed = 1234;  // Drives subsampling and seeding.
  // How the k starting centroids are drawn from the sample.
  enum class Seeding {
    // k-means++: each next point with probability proportional to its
    // squared distance from those chosen (on 4 sample points per centroid).
    kPlusPlus,
    // k distinct points drawn uniformly: the seeds follow the data's density,
    // so dense regions get many lists and the lists stay near equal in size.
    kUniform,
  };
  Seeding seeding = Seeding::kPlusPlus;
  bool spherical = false;  // Normalise centroids after each update.
  // Assign each point to the centroid of largest inner product instead of
  // the nearest one (inner-product indexes: training then assigns as adding
  // and searching do). The objective is then -sum <x, c>.
  bool inner_product = false;
  // Called after each iteration with (iteration from 1, objective), where the
  // objective is the sum of squared distances to the assigned centroids.
  std::function<void(int, double)> progress;
};

// A training sample split by rows across cooperating processes: the parts,
// in order, are the whole sample. Every part calls KMeans with the same
// options at the same time; each collective below is then called by every
// part in the same order, and returns the same error on every part when one
// fails.
class KMeansPartition {
 public:
  virtual ~KMeansPartition() = default;
  // Rows of the whole sample, and this part's first row in it.
  virtual int64_t total_rows() const = 0;
  virtual int64_t first_row() const = 0;
  // Agrees on `local` (every part returns the first failure, or OK).
  virtual absl::Status Agree(const absl::Status& local) = 0;
  // Element-wise sums and maxima over the parts, in place.
  virtual absl::Status SumInt64(absl::Span<int64_t> values) = 0;
  virtual absl::Status SumDouble(absl::Span<double> values) = 0;
  virtual absl::Status MaxFloat(float* value) = 0;
  // The parts' `mine` concatenated in part order, on every part.
  virtual absl::Status Concatenate(absl::Span<const float> mine,
                                   std::vector<float>* all) = 0;
};

struct KMeansResult {
  std::vector<float> centroids;  // k x d, row-major.
  double objective = 0;          // After the last assignment.
  int iterations = 0;
  int64_t points_used = 0;  // After subsampling.
};

// Clusters the rows of `data` (n x d, finite values; checked by the caller).
// InvalidArgument when k < 1, iterations < 0 or n < k.
absl::StatusOr<KMeansResult> KMeans(MatrixView<const float> data,
                                    const KMeansOptions& options,
                                    Executor* executor = nullptr);

// The same over a sample split across processes: `data` is this part's rows
// of the whole sample described by `partition`. The centroids are those
// KMeans gives on the whole sample; the objective (reported only) is summed
// across parts and may differ from it in its last bits.
absl::StatusOr<KMeansResult> KMeans(MatrixView<const float> data,
                                    const KMeansOptions& options,
                                    Executor* executor,
                                    KMeansPartition* partition);

// For each row of x, the index of the nearest centroid in squared L2 (ties:
// smaller index) and, if `distances` is non-null, that squared distance.
// `centroid_norms` holds ||c||^2 per centroid; null means "largest inner
// product" instead (distances are then -<x, c>). Deterministic for any
// executor.
void AssignNearest(const float* centroids, const float* centroid_norms,
                   int64_t k, MatrixView<const float> x, int32_t* assign,
                   float* distances, Executor* executor);

}  // namespace vindex::train

#endif  // VINDEX_SRC_TRAIN_KMEANS_H_
