#include "train/scalar_quantizer.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vindex::internal {
namespace {

inline uint8_t Quantize(float v) {
  // v is already in code units; round to nearest and clamp to [0, 255].
  float r = std::nearbyint(v);
  if (!(r >= 0.0f)) return 0;  // Also catches NaN.
  if (r >= 255.0f) return 255;
  return static_cast<uint8_t>(r);
}

}  // namespace

void ScalarQuantizer8::Fit(const float* rows, int64_t n, int dim) {
  std::vector<float> lo(dim, std::numeric_limits<float>::infinity());
  std::vector<float> hi(dim, -std::numeric_limits<float>::infinity());
  for (int64_t i = 0; i < n; ++i) {
    const float* x = rows + i * dim;
    for (int j = 0; j < dim; ++j) {
      lo[j] = std::min(lo[j], x[j]);
      hi[j] = std::max(hi[j], x[j]);
    }
  }
  float range = 0.0f;
  for (int j = 0; j < dim; ++j) range = std::max(range, hi[j] - lo[j]);
  Set(std::move(lo), range > 0.0f ? range / 255.0f : 1.0f);
}

void ScalarQuantizer8::Set(std::vector<float> offsets, float step) {
  offsets_ = std::move(offsets);
  step_ = step;
  inv_step_ = 1.0f / step;
}

void ScalarQuantizer8::Encode(const float* x, uint8_t* code) const {
  const int dim = static_cast<int>(offsets_.size());
  for (int j = 0; j < dim; ++j)
    code[j] = Quantize((x[j] - offsets_[j]) * inv_step_);
}

uint32_t ScalarQuantizer8::CodeSum(const uint8_t* code, int dim) {
  uint32_t s = 0;
  for (int j = 0; j < dim; ++j) s += code[j];
  return s;
}

void ScalarQuantizer8::EncodeQueryForIp(const float* q, int dim, uint8_t* code,
                                        float* lo, float* scale) {
  float mn = q[0], mx = q[0];
  for (int j = 1; j < dim; ++j) {
    mn = std::min(mn, q[j]);
    mx = std::max(mx, q[j]);
  }
  const float s = mx > mn ? (mx - mn) / 255.0f : 1.0f;
  const float inv = 1.0f / s;
  for (int j = 0; j < dim; ++j) code[j] = Quantize((q[j] - mn) * inv);
  *lo = mn;
  *scale = s;
}

}  // namespace vindex::internal
