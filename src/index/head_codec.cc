#include "index/head_codec.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vindex::internal {
namespace {

constexpr float kSteps = 255.0f;
constexpr float kTailSteps = 15.0f;

// Coordinate j's range over the centroids; both 0 when there are none.
void RangeOf(const float* centroids, int64_t nlist, int dim, size_t j,
             float* lo, float* hi) {
  *lo = std::numeric_limits<float>::infinity();
  *hi = -*lo;
  for (int64_t c = 0; c < nlist; ++c) {
    const float x = centroids[c * dim + j];
    *lo = std::min(*lo, x);
    *hi = std::max(*hi, x);
  }
  if (!(*lo <= *hi)) *lo = *hi = 0.0f;
}

// x's code on a grid of `steps` steps of `step` from lo: clamped, NaN to 0.
float CodeOf(float x, float lo, float step, float steps) {
  if (!(step > 0.0f)) return 0.0f;
  const float c = std::nearbyint((x - lo) / step);
  return c > 0.0f ? std::min(c, steps) : 0.0f;
}

// An L2 norm from its double square, rounded up past the double rounding of
// the sum and the square root.
float RoundedUpNorm(double sq) {
  const float norm = static_cast<float>(std::sqrt(sq) * (1.0 + 0x1p-40));
  return std::nextafter(norm, std::numeric_limits<float>::infinity());
}

}  // namespace

HeadCodec HeadCodec::FromCentroids(const float* centroids, int64_t nlist,
                                   int dim, bool tail) {
  HeadCodec codec;
  codec.dim_ = dim;
  double lo_sq = 0.0;
  for (size_t j = 0; j < kDim; ++j) {
    float lo, hi;
    RangeOf(centroids, nlist, dim, j, &lo, &hi);
    const float range = hi - lo;
    codec.lo_[j] = lo - 0.5f * range;
    codec.step_[j] = 2.0f * range / kSteps;
    lo_sq += double(codec.lo_[j]) * codec.lo_[j];
  }
  codec.lo_norm_ = static_cast<float>(std::sqrt(lo_sq));
  if (tail && static_cast<size_t>(dim) > kDim) {
    const size_t coded = static_cast<size_t>(dim) - kDim;
    const size_t padded = (coded + kernels::kCodedTailBlock - 1) /
                          kernels::kCodedTailBlock * kernels::kCodedTailBlock;
    codec.tail_lo_.assign(padded, 0.0f);
    codec.tail_step_.assign(padded, 0.0f);
    codec.tail_inverse_step_.assign(padded, 0.0f);
    for (size_t t = 0; t < coded; ++t) {
      float lo, hi;
      RangeOf(centroids, nlist, dim, kDim + t, &lo, &hi);
      codec.tail_lo_[t] = lo;
      codec.tail_step_[t] = (hi - lo) / kTailSteps;
      if (codec.tail_step_[t] > 0.0f) {
        codec.tail_inverse_step_[t] = 1.0f / codec.tail_step_[t];
      }
      lo_sq += double(lo) * lo;
    }
  }
  codec.row_lo_norm_ = static_cast<float>(std::sqrt(lo_sq));
  return codec;
}

float HeadCodec::Encode(const float* row, uint8_t* code) const {
  double err_sq = 0.0;
  for (size_t j = 0; j < kDim; ++j) {
    const float c = CodeOf(row[j], lo_[j], step_[j], kSteps);
    code[j] = static_cast<uint8_t>(c);
    // The decoded value, exactly: c has 8 bits and step 24.
    const double decoded = double(lo_[j]) + double(c) * double(step_[j]);
    const double e = double(row[j]) - decoded;
    err_sq += e * e;
  }
  return RoundedUpNorm(err_sq);
}

float HeadCodec::EncodeTail(const float* row, float head_slack,
                            uint8_t* code) const {
  const size_t coded = static_cast<size_t>(dim_) - kDim;
  constexpr size_t kHalf = kernels::kCodedTailBlock / 2;
  std::fill(code, code + tail_bytes(), uint8_t{0});
  double err_sq[4] = {double(head_slack) * head_slack, 0.0, 0.0, 0.0};
  for (size_t t = 0; t < coded; ++t) {
    const float x = row[kDim + t];
    // The nearest code but for rounding (the slack measures what it is),
    // clamped, NaN to 0; no libm call, as this runs at every load.
    float v = (x - tail_lo_[t]) * tail_inverse_step_[t];
    v = v > 0.0f ? v : 0.0f;
    v = v < kTailSteps ? v : kTailSteps;
    const float c = static_cast<float>(static_cast<int>(v + 0.5f));
    // Block b's byte i holds coordinate b * 32 + i (low nibble) and
    // b * 32 + 16 + i (high nibble).
    const size_t in = t % kernels::kCodedTailBlock;
    const uint8_t nibble = static_cast<uint8_t>(c);
    code[t / kernels::kCodedTailBlock * kHalf + in % kHalf] |=
        in < kHalf ? nibble : static_cast<uint8_t>(nibble << 4);
    const double e =
        double(x) - (double(tail_lo_[t]) + double(c) * double(tail_step_[t]));
    err_sq[t % 4] += e * e;  // Four sums: no chain of dependent adds.
  }
  return RoundedUpNorm((err_sq[0] + err_sq[1]) + (err_sq[2] + err_sq[3]));
}

float HeadCodec::PrepareQuery(const float* q, float* offset) const {
  float q_sq = 0.0f;
  for (size_t j = 0; j < kDim; ++j) {
    offset[j] = q[j] - lo_[j];
    q_sq += q[j] * q[j];
  }
  // Each offset is within one rounding, eps |q - lo|, of its value: a
  // vector of norm at most eps (|q| + |lo|); 8x that leaves room to spare.
  return 8.0f * std::numeric_limits<float>::epsilon() *
         (std::sqrt(q_sq) + lo_norm_);
}

float HeadCodec::PrepareQueryTail(const float* q, float* offset) const {
  const size_t coded = static_cast<size_t>(dim_) - kDim;
  float q_sq = 0.0f;
  for (size_t j = 0; j < static_cast<size_t>(dim_); ++j) q_sq += q[j] * q[j];
  for (size_t t = 0; t < tail_dim(); ++t) {
    offset[t] = t < coded ? q[kDim + t] - tail_lo_[t] : 0.0f;
  }
  // As PrepareQuery's, over the head's offsets and the tail's.
  return 8.0f * std::numeric_limits<float>::epsilon() *
         (std::sqrt(q_sq) + row_lo_norm_);
}

}  // namespace vindex::internal
