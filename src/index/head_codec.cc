#include "index/head_codec.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vindex::internal {
namespace {

constexpr float kSteps = 255.0f;

}  // namespace

HeadCodec HeadCodec::FromCentroids(const float* centroids, int64_t nlist,
                                   int dim) {
  HeadCodec codec;
  double lo_sq = 0.0;
  for (size_t j = 0; j < kDim; ++j) {
    float lo = std::numeric_limits<float>::infinity();
    float hi = -lo;
    for (int64_t c = 0; c < nlist; ++c) {
      const float x = centroids[c * dim + j];
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    if (!(lo <= hi)) lo = hi = 0.0f;  // No centroids.
    const float range = hi - lo;
    codec.lo_[j] = lo - 0.5f * range;
    codec.step_[j] = 2.0f * range / kSteps;
    lo_sq += double(codec.lo_[j]) * codec.lo_[j];
  }
  codec.lo_norm_ = static_cast<float>(std::sqrt(lo_sq));
  return codec;
}

float HeadCodec::Encode(const float* row, uint8_t* code) const {
  double err_sq = 0.0;
  for (size_t j = 0; j < kDim; ++j) {
    float c = 0.0f;
    if (step_[j] > 0.0f) {
      c = std::nearbyint((row[j] - lo_[j]) / step_[j]);
      c = c > 0.0f ? std::min(c, kSteps) : 0.0f;  // Clamped; NaN to 0.
    }
    code[j] = static_cast<uint8_t>(c);
    // The decoded value, exactly: c has 8 bits and step 24.
    const double decoded = double(lo_[j]) + double(c) * double(step_[j]);
    const double e = double(row[j]) - decoded;
    err_sq += e * e;
  }
  // Rounded up, past the double rounding of the sum and the square root.
  const float slack = static_cast<float>(std::sqrt(err_sq) * (1.0 + 0x1p-40));
  return std::nextafter(slack, std::numeric_limits<float>::infinity());
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

}  // namespace vindex::internal
