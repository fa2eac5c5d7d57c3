// Scalar PQ kernels: the reference every other ISA is tested against.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/pq_kernels.h"

namespace vindex::kernels {
namespace scalar {
namespace {

// Sums one block of jb <= 8 sub-quantizers (table rows t) into out, two
// codes at a time with four independent sums, so table loads overlap and the
// rows in use stay in L1. A code's sum does not depend on its position (an
// index that had entries removed scores the rest exactly as before).
template <size_t kJb>
inline void ScanBlock(const float* t, const uint8_t* codes, size_t n, size_t m,
                      size_t jb, float* out) {
  const size_t nj = kJb > 0 ? kJb : jb;
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    const uint8_t* a = codes + i * m;
    const uint8_t* b = a + m;
    float a0 = 0.0f, b0 = 0.0f, a1 = 0.0f, b1 = 0.0f;
    size_t j = 0;
    for (; j + 2 <= nj; j += 2) {
      a0 += t[j * 256 + a[j]];
      b0 += t[j * 256 + b[j]];
      a1 += t[(j + 1) * 256 + a[j + 1]];
      b1 += t[(j + 1) * 256 + b[j + 1]];
    }
    if (j < nj) {
      a0 += t[j * 256 + a[j]];
      b0 += t[j * 256 + b[j]];
    }
    out[i] += a0 + a1;
    out[i + 1] += b0 + b1;
  }
  if (i < n) {  // The same sums in the same order as above.
    const uint8_t* a = codes + i * m;
    float a0 = 0.0f, a1 = 0.0f;
    size_t j = 0;
    for (; j + 2 <= nj; j += 2) {
      a0 += t[j * 256 + a[j]];
      a1 += t[(j + 1) * 256 + a[j + 1]];
    }
    if (j < nj) a0 += t[j * 256 + a[j]];
    out[i] += a0 + a1;
  }
}

void Scan8(const float* lut, const uint8_t* codes, size_t n, size_t m,
           float* out) {
  constexpr size_t kBlock = 8;
  for (size_t i = 0; i < n; ++i) out[i] = 0.0f;
  for (size_t j0 = 0; j0 < m; j0 += kBlock) {
    const size_t jb = m - j0 < kBlock ? m - j0 : kBlock;
    if (jb == kBlock) {
      ScanBlock<kBlock>(lut + j0 * 256, codes + j0, n, m, jb, out);
    } else {
      ScanBlock<0>(lut + j0 * 256, codes + j0, n, m, jb, out);
    }
  }
}

void InnerProductTables(const float* q, const float* books_t, size_t m,
                        size_t dsub, size_t ksub, float factor,
                        const float* init, float* out) {
  for (size_t j = 0; j < m; ++j) {
    float* o = out + j * ksub;
    for (size_t c = 0; c < ksub; ++c) o[c] = 0.0f;
    for (size_t d = 0; d < dsub; ++d) {
      const float w = factor * q[j * dsub + d];
      const float* row = books_t + (j * dsub + d) * ksub;
      for (size_t c = 0; c < ksub; ++c) o[c] += w * row[c];
    }
    if (init != nullptr) {
      for (size_t c = 0; c < ksub; ++c) o[c] += init[j * ksub + c];
    }
  }
}

void Scan4FastScan(const uint8_t* codes, size_t blocks, size_t pairs,
                   const uint8_t* lut, uint16_t* out) {
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* block = codes + b * pairs * 32;
    for (size_t v = 0; v < kFastScanBlock; ++v) {
      const size_t t = v & 15;
      const int shift = v < 16 ? 0 : 4;
      uint32_t sum = 0;
      for (size_t p = 0; p < pairs; ++p) {
        const uint8_t* pc = block + p * 32;
        const uint8_t* pl = lut + p * 32;
        sum += pl[(pc[t] >> shift) & 15];
        sum += pl[16 + ((pc[16 + t] >> shift) & 15)];
      }
      out[b * kFastScanBlock + v] = static_cast<uint16_t>(sum);
    }
  }
}

void NearestCodewords(const float* x, size_t n, size_t x_stride,
                      const float* books_t, size_t dsub, size_t ksub,
                      float factor, const float* init, int32_t* out,
                      float* best) {
  for (size_t i = 0; i < n; ++i) {
    const float* q = x + i * x_stride;
    float best_value = 0.0f;
    size_t best_c = 0;
    for (size_t c = 0; c < ksub; ++c) {
      // The same operations, in the same order, as InnerProductTables.
      float s = 0.0f;
      for (size_t d = 0; d < dsub; ++d)
        s += factor * q[d] * books_t[d * ksub + c];
      if (init != nullptr) s += init[c];
      if (c == 0 || s < best_value) {
        best_value = s;
        best_c = c;
      }
    }
    out[i] = static_cast<int32_t>(best_c);
    best[i] = best_value;
  }
}

// Appends (first + v, dist_v) for each v < cnt of one block's sums whose
// dist_v = bias + sum_v * scale (+ terms[v]) is <= threshold, from
// position m; returns the new count.
size_t FilterBlock(const uint16_t* sums, size_t cnt, size_t first,
                   const float* terms, float bias, float scale, float threshold,
                   uint32_t* out_idx, float* out_dist, size_t m) {
  for (size_t v = 0; v < cnt; ++v) {
    float d = bias + static_cast<float>(sums[v]) * scale;
    if (terms != nullptr) d += terms[v];
    if (d <= threshold) {
      out_idx[m] = static_cast<uint32_t>(first + v);
      out_dist[m] = d;
      ++m;
    }
  }
  return m;
}

size_t Scan4FastScanFilter(const uint8_t* codes, size_t n, size_t pairs,
                           const uint8_t* lut, const float* terms, float bias,
                           float scale, float threshold, uint32_t* out_idx,
                           float* out_dist) {
  uint16_t sums[kFastScanBlock];
  size_t m = 0;
  for (size_t first = 0; first < n; first += kFastScanBlock) {
    Scan4FastScan(codes + first / kFastScanBlock * pairs * 32, 1, pairs, lut,
                  sums);
    const size_t cnt = std::min(kFastScanBlock, n - first);
    m = FilterBlock(sums, cnt, first,
                    terms != nullptr ? terms + first : nullptr, bias, scale,
                    threshold, out_idx, out_dist, m);
  }
  return m;
}

void Scan4FastScanFilterMulti(const uint8_t* codes, size_t n, size_t pairs,
                              size_t nq, const uint8_t* const* luts,
                              const float* terms, const float* bias,
                              const float* scale, const float* threshold,
                              uint32_t* out_idx, float* out_dist,
                              size_t* counts) {
  uint16_t sums[kFastScanBlock];
  for (size_t q = 0; q < nq; ++q) counts[q] = 0;
  for (size_t first = 0; first < n; first += kFastScanBlock) {
    const uint8_t* block = codes + first / kFastScanBlock * pairs * 32;
    const size_t cnt = std::min(kFastScanBlock, n - first);
    for (size_t q = 0; q < nq; ++q) {
      Scan4FastScan(block, 1, pairs, luts[q], sums);
      counts[q] = FilterBlock(
          sums, cnt, first, terms != nullptr ? terms + first : nullptr, bias[q],
          scale[q], threshold[q], out_idx + q * n, out_dist + q * n, counts[q]);
    }
  }
}

float QuantizeLut4(const float* lut, size_t m, uint8_t* q8, float* lo_sum) {
  const size_t pairs = (m + 1) / 2;
  const int qmax = std::min<int>(255, static_cast<int>(65535 / (2 * pairs)));
  float range = 0.0f, lows = 0.0f;
  for (size_t j = 0; j < m; ++j) {
    const float* t = lut + j * 16;
    float mn = t[0], mx = t[0];
    for (int c = 1; c < 16; ++c) {
      mn = std::min(mn, t[c]);
      mx = std::max(mx, t[c]);
    }
    lows += mn;
    range = std::max(range, mx - mn);
  }
  *lo_sum = lows;
  const float scale = range > 0 ? qmax / range : 0.0f;
  const float top = static_cast<float>(qmax);
  for (size_t j = 0; j < m; ++j) {
    uint8_t* dst = q8 + (j / 2) * 32 + (j % 2) * 16;
    const float* t = lut + j * 16;
    float mn = t[0];
    for (int c = 1; c < 16; ++c) mn = std::min(mn, t[c]);
    for (int c = 0; c < 16; ++c) {
      // t[c] >= mn, so the value is >= 0.5: truncation rounds half up.
      const float v = std::min((t[c] - mn) * scale + 0.5f, top);
      dst[c] = static_cast<uint8_t>(static_cast<int>(v));
    }
  }
  if (m % 2 == 1) std::fill(q8 + (pairs - 1) * 32 + 16, q8 + pairs * 32, 0);
  return range > 0 ? range / qmax : 0.0f;
}

}  // namespace
}  // namespace scalar

template <>
const pq::Table IsaTable<pq::Table, Isa::kScalar>::kTable = {
    .isa = Isa::kScalar,
    .scan8 = &scalar::Scan8,
    .scan4_fastscan = &scalar::Scan4FastScan,
    .scan4_fastscan_filter = &scalar::Scan4FastScanFilter,
    .scan4_fastscan_filter_multi = &scalar::Scan4FastScanFilterMulti,
    .inner_product_tables = &scalar::InnerProductTables,
    .nearest_codewords = &scalar::NearestCodewords,
    .quantize_lut4 = &scalar::QuantizeLut4,
};

}  // namespace vindex::kernels
