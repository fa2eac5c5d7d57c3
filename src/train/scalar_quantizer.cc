#include "train/scalar_quantizer.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vindex::internal {
namespace {

inline uint8_t Quantize(float v, float max_code) {
  // v is already in code units: clamp to [0, max_code] (NaN to 0), then round
  // to nearest even by adding and taking away 1.5 * 2^23, exact below 2^22.
  // Clamping first gives the same code as rounding first (max_code is a whole
  // number), and needs no library call per element.
  if (!(v >= 0.0f)) v = 0.0f;
  if (v > max_code) v = max_code;
  constexpr float kRound = 12582912.0f;
  return static_cast<uint8_t>((v + kRound) - kRound);
}

}  // namespace

void ScalarQuantizer::Fit(const float* rows, int64_t n, int dim) {
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
  Set(std::move(lo), range > 0.0f ? range / max_code_ : 1.0f);
}

void ScalarQuantizer::Set(std::vector<float> offsets, float step) {
  offsets_ = std::move(offsets);
  step_ = step;
  inv_step_ = 1.0f / step;
}

void ScalarQuantizer::Encode(const float* x, uint8_t* code) const {
  const int dim = static_cast<int>(offsets_.size());
  for (int j = 0; j < dim; ++j)
    code[j] = Quantize((x[j] - offsets_[j]) * inv_step_, max_code_);
}

uint32_t ScalarQuantizer::CodeSum(const uint8_t* code, int dim) {
  uint32_t s = 0;
  for (int j = 0; j < dim; ++j) s += code[j];
  return s;
}

void ScalarQuantizer::EncodePacked(const float* x, uint8_t* packed) const {
  const size_t dim = offsets_.size();
  const size_t p = PackedBytes(static_cast<int>(dim));
  const auto code = [&](size_t j) {
    return Quantize((x[j] - offsets_[j]) * inv_step_, max_code_);
  };
  for (size_t j = 0; j < p; ++j) {
    const uint8_t hi = p + j < dim ? code(p + j) : 0;
    packed[j] = static_cast<uint8_t>(code(j) | hi << 4);
  }
}

uint32_t ScalarQuantizer::PackedSum(const uint8_t* packed, int dim) {
  uint32_t s = 0;
  for (size_t j = 0; j < PackedBytes(dim); ++j)
    s += (packed[j] & 15u) + (packed[j] >> 4);
  return s;
}

void ScalarQuantizer::EncodeQueryForIp(const float* q, int dim, uint8_t* code,
                                       float* lo, float* scale) {
  float mn = q[0], mx = q[0];
  for (int j = 1; j < dim; ++j) {
    mn = std::min(mn, q[j]);
    mx = std::max(mx, q[j]);
  }
  const float s = mx > mn ? (mx - mn) / 255.0f : 1.0f;
  const float inv = 1.0f / s;
  for (int j = 0; j < dim; ++j) code[j] = Quantize((q[j] - mn) * inv, 255.0f);
  *lo = mn;
  *scale = s;
}

}  // namespace vindex::internal
