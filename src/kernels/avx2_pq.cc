// AVX2 PQ kernels: gathers for 8-bit codes, vpshufb fast-scan for 4-bit codes.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/pq_kernels.h"
#include "kernels/x86_fastscan_filter.h"
#include "kernels/x86_quantize_lut4.h"

namespace vindex::kernels::avx2 {
namespace {

// Sum of lut[j * 256 + c[j]] over j, as 8 partial lane sums.
inline __m256 GatherSum(const float* lut, const uint8_t* c, size_t m) {
  const __m256i lane_offsets =
      _mm256_setr_epi32(0, 256, 512, 768, 1024, 1280, 1536, 1792);
  __m256 acc = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 8 <= m; j += 8) {
    __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(c + j));
    __m256i idx = _mm256_add_epi32(_mm256_cvtepu8_epi32(bytes), lane_offsets);
    acc = _mm256_add_ps(acc, _mm256_i32gather_ps(lut + j * 256, idx, 4));
  }
  if (j < m) {
    const size_t r = m - j;
    uint8_t tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(tail, c + j, r);
    __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(tail));
    __m256i idx = _mm256_add_epi32(_mm256_cvtepu8_epi32(bytes), lane_offsets);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(r)), lanes);
    acc = _mm256_add_ps(
        acc, _mm256_mask_i32gather_ps(_mm256_setzero_ps(), lut + j * 256, idx,
                                      _mm256_castsi256_ps(mask), 4));
  }
  return acc;
}

// The four codes' sums, reduced in one fixed order whatever their position.
inline __m128 SumFour(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 abcd =
      _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(abcd),
                    _mm256_extractf128_ps(abcd, 1));
}

void Scan8(const float* lut, const uint8_t* codes, size_t n, size_t m,
           float* out) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256 a = GatherSum(lut, codes + i * m, m);
    __m256 b = GatherSum(lut, codes + (i + 1) * m, m);
    __m256 c = GatherSum(lut, codes + (i + 2) * m, m);
    __m256 d = GatherSum(lut, codes + (i + 3) * m, m);
    _mm_storeu_ps(out + i, SumFour(a, b, c, d));
  }
  if (i < n) {
    // The last one to three codes, reduced exactly like the others.
    __m256 v[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (size_t k = 0; i + k < n; ++k)
      v[k] = GatherSum(lut, codes + (i + k) * m, m);
    float sums[4];
    _mm_storeu_ps(sums, SumFour(v[0], v[1], v[2], v[3]));
    for (size_t k = 0; i + k < n; ++k) out[i + k] = sums[k];
  }
}

// Writes the 16 sums of one half block: even vectors are lo - (hi << 8),
// odd vectors hi; the two 128-bit lanes (sub-quantizers a and b) are added.
inline void StoreHalf(__m256i lo, __m256i hi, uint16_t* out) {
  const __m256i even = _mm256_sub_epi16(lo, _mm256_slli_epi16(hi, 8));
  const __m128i e = _mm_add_epi16(_mm256_castsi256_si128(even),
                                  _mm256_extracti128_si256(even, 1));
  const __m128i o = _mm_add_epi16(_mm256_castsi256_si128(hi),
                                  _mm256_extracti128_si256(hi, 1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_unpacklo_epi16(e, o));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 8),
                   _mm_unpackhi_epi16(e, o));
}

// One block's 32 sums (see pq_kernels.h) into out.
inline void AccumulateBlock(const uint8_t* block, size_t pairs,
                            const uint8_t* lut, uint16_t* out) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256i a_lo = _mm256_setzero_si256(), a_hi = _mm256_setzero_si256();
  __m256i b_lo = _mm256_setzero_si256(), b_hi = _mm256_setzero_si256();
  for (size_t p = 0; p < pairs; ++p) {
    const __m256i c =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + p * 32));
    const __m256i l =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + p * 32));
    const __m256i first = _mm256_shuffle_epi8(l, _mm256_and_si256(c, low4));
    const __m256i second =
        _mm256_shuffle_epi8(l, _mm256_and_si256(_mm256_srli_epi16(c, 4), low4));
    a_lo = _mm256_add_epi16(a_lo, first);
    a_hi = _mm256_add_epi16(a_hi, _mm256_srli_epi16(first, 8));
    b_lo = _mm256_add_epi16(b_lo, second);
    b_hi = _mm256_add_epi16(b_hi, _mm256_srli_epi16(second, 8));
  }
  StoreHalf(a_lo, a_hi, out);
  StoreHalf(b_lo, b_hi, out + 16);
}

void Scan4FastScan(const uint8_t* codes, size_t blocks, size_t pairs,
                   const uint8_t* lut, uint16_t* out) {
  for (size_t b = 0; b < blocks; ++b) {
    AccumulateBlock(codes + b * pairs * 32, pairs, lut,
                    out + b * kFastScanBlock);
  }
}

size_t Scan4FastScanFilter(const uint8_t* codes, size_t n, size_t pairs,
                           const uint8_t* lut, const float* terms, float bias,
                           float scale, float threshold, uint32_t* out_idx,
                           float* out_dist) {
  // A lambda, not the function's address, so the accumulator is inlined.
  auto accumulate = [](const uint8_t* block, size_t p, const uint8_t* l,
                       uint16_t* out) { AccumulateBlock(block, p, l, out); };
  return ScanFilterBlocks(accumulate, codes, n, pairs, lut, terms, bias, scale,
                          threshold, out_idx, out_dist);
}

constexpr size_t kW = 8;

// Table entries c .. c + 4 * kW - 1 of one sub-quantizer (row q, codebook
// bt transposed, init row in or null): four registers, accumulated over the
// dsub rows of bt, then init added.
inline void ScoreFour(const float* q, const float* bt, size_t dsub, size_t ksub,
                      size_t c, float factor, const float* in, __m256* s) {
  for (int r = 0; r < 4; ++r) s[r] = _mm256_setzero_ps();
  for (size_t d = 0; d < dsub; ++d) {
    const __m256 w = _mm256_set1_ps(factor * q[d]);
    const float* row = bt + d * ksub + c;
    for (int r = 0; r < 4; ++r)
      s[r] = _mm256_fmadd_ps(w, _mm256_loadu_ps(row + r * kW), s[r]);
  }
  if (in != nullptr) {
    for (int r = 0; r < 4; ++r)
      s[r] = _mm256_add_ps(s[r], _mm256_loadu_ps(in + c + r * kW));
  }
}

// Entries c .. c + live - 1 (live <= kW) the same way, in one register;
// lanes from live on hold garbage.
inline __m256 ScoreTail(const float* q, const float* bt, size_t dsub,
                        size_t ksub, size_t c, size_t live, float factor,
                        const float* in) {
  const __m256i m =
      _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(live)),
                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  auto load = [&](const float* p) { return _mm256_maskload_ps(p, m); };
  __m256 s = _mm256_setzero_ps();
  for (size_t d = 0; d < dsub; ++d)
    s = _mm256_fmadd_ps(_mm256_set1_ps(factor * q[d]), load(bt + d * ksub + c),
                        s);
  if (in != nullptr) s = _mm256_add_ps(s, load(in + c));
  return s;
}

void InnerProductTables(const float* q, const float* books_t, size_t m,
                        size_t dsub, size_t ksub, float factor,
                        const float* init, float* out) {
  for (size_t j = 0; j < m; ++j) {
    const float* qj = q + j * dsub;
    const float* bt = books_t + j * dsub * ksub;
    float* o = out + j * ksub;
    const float* in = init != nullptr ? init + j * ksub : nullptr;
    size_t c = 0;
    for (; c + 4 * kW <= ksub; c += 4 * kW) {
      __m256 s[4];
      ScoreFour(qj, bt, dsub, ksub, c, factor, in, s);
      for (int r = 0; r < 4; ++r) _mm256_storeu_ps(o + c + r * kW, s[r]);
    }
    for (; c < ksub; c += kW) {
      const size_t live = ksub - c < kW ? ksub - c : kW;
      const __m256 s = ScoreTail(qj, bt, dsub, ksub, c, live, factor, in);
      _mm256_maskstore_ps(
          o + c,
          _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(live)),
                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
          s);
    }
  }
}

// Keeps, lane by lane, the first smallest score and its codeword.
inline void TrackMin(__m256 s, size_t c, __m256& vmin, __m256i& vidx) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 less = _mm256_cmp_ps(s, vmin, _CMP_LT_OQ);
  vmin = _mm256_blendv_ps(vmin, s, less);
  vidx = _mm256_castps_si256(
      _mm256_blendv_ps(_mm256_castsi256_ps(vidx),
                       _mm256_castsi256_ps(_mm256_add_epi32(
                           _mm256_set1_epi32(static_cast<int>(c)), lane)),
                       less));
}

// The scores InnerProductTables would write, tracked instead of stored.
void NearestCodewords(const float* x, size_t n, size_t x_stride,
                      const float* books_t, size_t dsub, size_t ksub,
                      float factor, const float* init, int32_t* out,
                      float* best) {
  for (size_t i = 0; i < n; ++i) {
    const float* q = x + i * x_stride;
    __m256 vmin = _mm256_set1_ps(__builtin_inff());
    __m256i vidx = _mm256_setzero_si256();
    size_t c = 0;
    for (; c + 4 * kW <= ksub; c += 4 * kW) {
      __m256 s[4];
      ScoreFour(q, books_t, dsub, ksub, c, factor, init, s);
      for (int r = 0; r < 4; ++r) TrackMin(s[r], c + r * kW, vmin, vidx);
    }
    for (; c < ksub; c += kW) {
      const size_t live = ksub - c < kW ? ksub - c : kW;
      __m256 s = ScoreTail(q, books_t, dsub, ksub, c, live, factor, init);
      s = _mm256_blendv_ps(_mm256_set1_ps(__builtin_inff()), s,
                           _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                               _mm256_set1_epi32(static_cast<int>(live)),
                               _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))));
      TrackMin(s, c, vmin, vidx);
    }
    // The smallest score; among the lanes holding it, the first codeword.
    float lanes[kW];
    int32_t idx[kW];
    _mm256_storeu_ps(lanes, vmin);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx), vidx);
    float m = lanes[0];
    int32_t first = idx[0];
    for (size_t t = 1; t < kW; ++t) {
      if (lanes[t] < m || (lanes[t] == m && idx[t] < first)) {
        m = lanes[t];
        first = idx[t];
      }
    }
    out[i] = first;
    best[i] = m;
  }
}

}  // namespace

const pq::Table& PqTable() {
  static const pq::Table table{Isa::kAvx2,
                               "avx2",
                               &Scan8,
                               &Scan4FastScan,
                               &Scan4FastScanFilter,
                               &InnerProductTables,
                               &NearestCodewords,
                               &QuantizeLut4Avx2};
  return table;
}

}  // namespace vindex::kernels::avx2
