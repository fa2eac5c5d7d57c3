#ifndef VINDEX_SRC_INDEX_HEAD_CODEC_H_
#define VINDEX_SRC_INDEX_HEAD_CODEC_H_

// 8-bit codes of the first kernels::kCodedHeadDim coordinates of rows
// (IVF-Flat list rows, IVF coarse centroids), which one-query scans read
// before any row (kernels::CodedHeads). One uniform scale per coordinate, fixed
// from the coarse centroids; each row also keeps the L2 norm of its coding
// error, so the floor the scan derives holds for every row, however far out
// (codes clamp, and the error grows with the distance clamped).

#include <array>
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace vindex::internal {

class HeadCodec {
 public:
  static constexpr size_t kDim = kernels::kCodedHeadDim;

  // Each coordinate's range over the nlist centroids (dim >= kDim floats
  // each), widened by half of it on both sides, in 255 steps.
  static HeadCodec FromCentroids(const float* centroids, int64_t nlist,
                                 int dim);

  // Writes row's kDim codes and returns the L2 norm of its coding error,
  // rounded up.
  float Encode(const float* row, uint8_t* code) const;
  // Writes the query's kDim offsets (q - lo) and returns the query's slack
  // (kernels::CodedHeads).
  float PrepareQuery(const float* q, float* offset) const;

  const float* step() const { return step_.data(); }

 private:
  std::array<float, kDim> lo_{};
  std::array<float, kDim> step_{};
  float lo_norm_ = 0.0f;
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_INDEX_HEAD_CODEC_H_
