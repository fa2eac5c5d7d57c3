#ifndef VINDEX_SRC_INDEX_HEAD_CODEC_H_
#define VINDEX_SRC_INDEX_HEAD_CODEC_H_

// 8-bit codes of the first kernels::kCodedHeadDim coordinates of rows
// (IVF-Flat list rows, IVF coarse centroids), which one-query scans read
// before any row (kernels::CodedHeads). One uniform scale per coordinate, fixed
// from the coarse centroids; each row also keeps the L2 norm of its coding
// error, so the floor the scan derives holds for every row, however far out
// (codes clamp, and the error grows with the distance clamped). Optionally
// also a 4-bit tail: the remaining coordinates, which the scan reads for the
// rows its heads did not stop, before their floats.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/kernels.h"

namespace vindex::internal {

class HeadCodec {
 public:
  static constexpr size_t kDim = kernels::kCodedHeadDim;

  // Each head coordinate's range over the nlist centroids (dim >= kDim
  // floats each), widened by half of it on both sides, in 255 steps. With
  // `tail`, each later coordinate's range over the centroids in 15 steps
  // (rows outside it clamp, their slack covering the difference).
  static HeadCodec FromCentroids(const float* centroids, int64_t nlist, int dim,
                                 bool tail = false);

  // Writes row's kDim codes and returns the L2 norm of its coding error,
  // rounded up.
  float Encode(const float* row, uint8_t* code) const;
  // Writes the query's kDim offsets (q - lo) and returns the query's slack
  // (kernels::CodedHeads).
  float PrepareQuery(const float* q, float* offset) const;

  const float* step() const { return step_.data(); }

  // --- The tail (tail_dim() == 0 without one). ---
  // Coded tail coordinates, padded to a multiple of kernels::kCodedTailBlock
  // (padding codes 0 with step 0), and the bytes of one row's tail.
  size_t tail_dim() const { return tail_step_.size(); }
  size_t tail_bytes() const { return tail_dim() / 2; }
  // Writes row's tail_bytes() packed codes (kernels::CodedHeads) and returns
  // the L2 norm of the whole row's coding error, rounded up, given its head's
  // (Encode's result).
  float EncodeTail(const float* row, float head_slack, uint8_t* code) const;
  // Writes the query's tail_dim() offsets (0 on padding) and returns the
  // query's slack for the head and tail together.
  float PrepareQueryTail(const float* q, float* offset) const;
  const float* tail_step() const { return tail_step_.data(); }

 private:
  std::array<float, kDim> lo_{};
  std::array<float, kDim> step_{};
  float lo_norm_ = 0.0f;
  int dim_ = 0;
  std::vector<float> tail_lo_;
  std::vector<float> tail_step_;
  std::vector<float> tail_inverse_step_;  // 0 where the step is 0.
  float row_lo_norm_ = 0.0f;              // |lo| over the head and the tail.
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_INDEX_HEAD_CODEC_H_
