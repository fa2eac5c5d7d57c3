// AVX-512 PQ kernels: 16-wide gathers for 8-bit codes; fast-scan shuffles two
// sub-quantizer pairs per 512-bit register.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/pq_kernels.h"
#include "kernels/x86_fastscan_filter.h"
#include "kernels/x86_quantize_lut4.h"

namespace vindex::kernels::avx512 {
namespace {

inline __m512 GatherSum(const float* lut, const uint8_t* c, size_t m) {
  const __m512i lane_offsets = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32(256));
  __m512 acc = _mm512_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= m; j += 16) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + j));
    __m512i idx = _mm512_add_epi32(_mm512_cvtepu8_epi32(bytes), lane_offsets);
    acc = _mm512_add_ps(acc, _mm512_i32gather_ps(idx, lut + j * 256, 4));
  }
  if (j < m) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (m - j)) - 1);
    __m128i bytes = _mm_maskz_loadu_epi8(mask, c + j);
    __m512i idx = _mm512_add_epi32(_mm512_cvtepu8_epi32(bytes), lane_offsets);
    acc = _mm512_add_ps(acc, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask,
                                                      idx, lut + j * 256, 4));
  }
  return acc;
}

void Scan8(const float* lut, const uint8_t* codes, size_t n, size_t m,
           float* out) {
  for (size_t i = 0; i < n; ++i)
    out[i] = _mm512_reduce_add_ps(GatherSum(lut, codes + i * m, m));
}

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

// Folds the two 256-bit halves of a 512-bit accumulator (pairs p and p + 1)
// into one 256-bit accumulator of the same meaning.
inline __m256i Fold(__m512i v) {
  return _mm256_add_epi16(_mm512_castsi512_si256(v),
                          _mm512_extracti64x4_epi64(v, 1));
}

// One block's 32 sums (see pq_kernels.h) into out.
inline void AccumulateBlock(const uint8_t* block, size_t pairs,
                            const uint8_t* lut, uint16_t* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  const __m256i low4_256 = _mm256_set1_epi8(0x0f);
  __m512i a_lo = _mm512_setzero_si512(), a_hi = _mm512_setzero_si512();
  __m512i b_lo = _mm512_setzero_si512(), b_hi = _mm512_setzero_si512();
  size_t p = 0;
  for (; p + 2 <= pairs; p += 2) {
    const __m512i c = _mm512_loadu_si512(block + p * 32);
    const __m512i l = _mm512_loadu_si512(lut + p * 32);
    const __m512i first = _mm512_shuffle_epi8(l, _mm512_and_si512(c, low4));
    const __m512i second =
        _mm512_shuffle_epi8(l, _mm512_and_si512(_mm512_srli_epi16(c, 4), low4));
    a_lo = _mm512_add_epi16(a_lo, first);
    a_hi = _mm512_add_epi16(a_hi, _mm512_srli_epi16(first, 8));
    b_lo = _mm512_add_epi16(b_lo, second);
    b_hi = _mm512_add_epi16(b_hi, _mm512_srli_epi16(second, 8));
  }
  __m256i a_lo2 = Fold(a_lo), a_hi2 = Fold(a_hi), b_lo2 = Fold(b_lo),
          b_hi2 = Fold(b_hi);
  if (p < pairs) {
    const __m256i c =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + p * 32));
    const __m256i l =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + p * 32));
    const __m256i first = _mm256_shuffle_epi8(l, _mm256_and_si256(c, low4_256));
    const __m256i second = _mm256_shuffle_epi8(
        l, _mm256_and_si256(_mm256_srli_epi16(c, 4), low4_256));
    a_lo2 = _mm256_add_epi16(a_lo2, first);
    a_hi2 = _mm256_add_epi16(a_hi2, _mm256_srli_epi16(first, 8));
    b_lo2 = _mm256_add_epi16(b_lo2, second);
    b_hi2 = _mm256_add_epi16(b_hi2, _mm256_srli_epi16(second, 8));
  }
  StoreHalf(a_lo2, a_hi2, out);
  StoreHalf(b_lo2, b_hi2, out + 16);
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

constexpr size_t kW = 16;

// Table entries c .. c + 4 * kW - 1 of one sub-quantizer (row q, codebook
// bt transposed, init row in or null): four registers, accumulated over the
// dsub rows of bt, then init added.
inline void ScoreFour(const float* q, const float* bt, size_t dsub, size_t ksub,
                      size_t c, float factor, const float* in, __m512* s) {
  for (int r = 0; r < 4; ++r) s[r] = _mm512_setzero_ps();
  for (size_t d = 0; d < dsub; ++d) {
    const __m512 w = _mm512_set1_ps(factor * q[d]);
    const float* row = bt + d * ksub + c;
    for (int r = 0; r < 4; ++r)
      s[r] = _mm512_fmadd_ps(w, _mm512_loadu_ps(row + r * kW), s[r]);
  }
  if (in != nullptr) {
    for (int r = 0; r < 4; ++r)
      s[r] = _mm512_add_ps(s[r], _mm512_loadu_ps(in + c + r * kW));
  }
}

// Entries c .. c + live - 1 (live <= kW) the same way, in one register;
// lanes from live on hold garbage.
inline __m512 ScoreTail(const float* q, const float* bt, size_t dsub,
                        size_t ksub, size_t c, size_t live, float factor,
                        const float* in) {
  const __mmask16 m = static_cast<__mmask16>((1u << live) - 1);
  auto load = [&](const float* p) { return _mm512_maskz_loadu_ps(m, p); };
  __m512 s = _mm512_setzero_ps();
  for (size_t d = 0; d < dsub; ++d)
    s = _mm512_fmadd_ps(_mm512_set1_ps(factor * q[d]), load(bt + d * ksub + c),
                        s);
  if (in != nullptr) s = _mm512_add_ps(s, load(in + c));
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
      __m512 s[4];
      ScoreFour(qj, bt, dsub, ksub, c, factor, in, s);
      for (int r = 0; r < 4; ++r) _mm512_storeu_ps(o + c + r * kW, s[r]);
    }
    for (; c < ksub; c += kW) {
      const size_t live = ksub - c < kW ? ksub - c : kW;
      const __m512 s = ScoreTail(qj, bt, dsub, ksub, c, live, factor, in);
      _mm512_mask_storeu_ps(o + c, static_cast<__mmask16>((1u << live) - 1), s);
    }
  }
}

// Keeps, lane by lane, the first smallest score and its codeword.
inline void TrackMin(__m512 s, size_t c, __m512& vmin, __m512i& vidx) {
  const __m512i lane =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __mmask16 less = _mm512_cmp_ps_mask(s, vmin, _CMP_LT_OQ);
  vmin = _mm512_mask_blend_ps(less, vmin, s);
  vidx = _mm512_mask_blend_epi32(
      less, vidx,
      _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(c)), lane));
}

// The scores InnerProductTables would write, tracked instead of stored.
void NearestCodewords(const float* x, size_t n, size_t x_stride,
                      const float* books_t, size_t dsub, size_t ksub,
                      float factor, const float* init, int32_t* out,
                      float* best) {
  for (size_t i = 0; i < n; ++i) {
    const float* q = x + i * x_stride;
    __m512 vmin = _mm512_set1_ps(__builtin_inff());
    __m512i vidx = _mm512_setzero_si512();
    size_t c = 0;
    for (; c + 4 * kW <= ksub; c += 4 * kW) {
      __m512 s[4];
      ScoreFour(q, books_t, dsub, ksub, c, factor, init, s);
      for (int r = 0; r < 4; ++r) TrackMin(s[r], c + r * kW, vmin, vidx);
    }
    for (; c < ksub; c += kW) {
      const size_t live = ksub - c < kW ? ksub - c : kW;
      __m512 s = ScoreTail(q, books_t, dsub, ksub, c, live, factor, init);
      s = _mm512_mask_blend_ps(static_cast<__mmask16>((1u << live) - 1),
                               _mm512_set1_ps(__builtin_inff()), s);
      TrackMin(s, c, vmin, vidx);
    }
    // The smallest score; among the lanes holding it, the first codeword.
    const float m = _mm512_reduce_min_ps(vmin);
    const __mmask16 at =
        _mm512_cmp_ps_mask(vmin, _mm512_set1_ps(m), _CMP_EQ_OQ);
    out[i] = _mm512_mask_reduce_min_epi32(at, vidx);
    best[i] = m;
  }
}

}  // namespace

const pq::Table& PqTable() {
  static const pq::Table table{Isa::kAvx512,
                               "avx512",
                               &Scan8,
                               &Scan4FastScan,
                               &Scan4FastScanFilter,
                               &InnerProductTables,
                               &NearestCodewords,
                               &QuantizeLut4Avx2};
  return table;
}

}  // namespace vindex::kernels::avx512
