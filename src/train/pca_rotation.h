#ifndef VINDEX_SRC_TRAIN_PCA_ROTATION_H_
#define VINDEX_SRC_TRAIN_PCA_ROTATION_H_

// An orthogonal map into a sample's principal axes. Applying it keeps every
// L2 distance, inner product and norm, and puts most of each distance into
// the leading coordinates, where a partial distance that is compared against
// a bound can stop early.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "vindex/matrix_view.h"

namespace vindex::train {

// y = Q^T x, where the first `lead` coordinates of y are the projections of
// x on the sample's `lead` principal axes (eigenvectors of its covariance
// about the mean, largest eigenvalue first, up to sign) and the others span
// the rest of the space. Q is the product of `lead` Householder reflections,
// kept in compact WY form (Q = I - V^T T V, V the lead x dim reflectors, T
// upper triangular), so a row costs about 4 * lead * dim multiply-adds
// instead of dim^2, and a single query touches 2 * lead * dim floats.
// Thread safety: const methods may be called concurrently.
class PcaRotation {
 public:
  // Leading axes learned per dimension count: enough for the early exits'
  // first checks, few enough that rotating a query stays cheap.
  static int DefaultLead(int dim) { return dim < 64 ? dim : 64; }

  // Learns the map from at most `max_samples` rows of `samples` (evenly
  // spread; all of them when there are fewer). Rows must be finite (the
  // caller validates them); lead in [1, dim]. The covariance is accumulated
  // in double.
  static absl::StatusOr<PcaRotation> Learn(MatrixView<const float> samples,
                                           int lead,
                                           int64_t max_samples = 1 << 17);

  // Rebuilds a saved map. InvalidArgument unless every row k of
  // `reflectors` (lead x dim) is zero before k and 1 at k, and every tau is
  // 0 or 2 / |row k|^2 (within float rounding): those make Q orthogonal.
  static absl::StatusOr<PcaRotation> FromReflectors(
      int dim, int lead, std::vector<float> reflectors,
      std::vector<float> taus);

  int dim() const { return dim_; }
  int lead() const { return lead_; }
  const std::vector<float>& reflectors() const { return v_; }
  const std::vector<float>& taus() const { return taus_; }
  // Bytes held.
  uint64_t bytes() const {
    return (v_.size() + taus_.size() + t_.size()) * sizeof(float);
  }

  // y = Q^T x for `rows` rows of x (stride in floats) into dense y.
  void Apply(const float* x, int64_t rows, int64_t stride, float* y) const;
  // x = Q y (the inverse map) for `rows` dense rows of y into x (stride).
  void ApplyInverse(const float* y, int64_t rows, float* x,
                    int64_t stride) const;
  // Q^T as a dense dim x dim row-major matrix (y = R x).
  std::vector<float> Dense() const;

 private:
  // Builds T from the reflectors and taus.
  void BuildT();
  void Map(const float* in, int64_t rows, int64_t in_stride, bool inverse,
           float* out, int64_t out_stride) const;

  int dim_ = 0;
  int lead_ = 0;
  std::vector<float> v_;     // lead x dim, row k: the k-th reflector.
  std::vector<float> taus_;  // lead.
  std::vector<float> t_;     // lead x lead, upper triangular.
};

}  // namespace vindex::train

#endif  // VINDEX_SRC_TRAIN_PCA_ROTATION_H_
