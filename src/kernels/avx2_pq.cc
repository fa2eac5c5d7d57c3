// AVX2 PQ kernels: gathers for 8-bit codes, vpshufb fast-scan for 4-bit codes.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/avx2_simd.h"
#include "kernels/pq_kernels.h"
#include "kernels/x86_fastscan.h"
#include "kernels/x86_pq_tables.h"
#include "kernels/x86_quantize_lut4.h"

namespace vindex::kernels {
namespace avx2 {
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

// One block's 32 sums for each of kQ queries (tables luts[q]) into
// out + q * 32: each pair's codes are loaded and split into nibbles once
// for all kQ tables.
template <size_t kQ>
inline void AccumulateBlockQueries(const uint8_t* block, size_t pairs,
                                   const uint8_t* const* luts, uint16_t* out) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256i a_lo[kQ], a_hi[kQ], b_lo[kQ], b_hi[kQ];
  for (size_t q = 0; q < kQ; ++q) {
    a_lo[q] = a_hi[q] = b_lo[q] = b_hi[q] = _mm256_setzero_si256();
  }
  for (size_t p = 0; p < pairs; ++p) {
    const __m256i c =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + p * 32));
    const __m256i lo = _mm256_and_si256(c, low4);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), low4);
    for (size_t q = 0; q < kQ; ++q) {
      const __m256i l = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(luts[q] + p * 32));
      const __m256i first = _mm256_shuffle_epi8(l, lo);
      const __m256i second = _mm256_shuffle_epi8(l, hi);
      a_lo[q] = _mm256_add_epi16(a_lo[q], first);
      a_hi[q] = _mm256_add_epi16(a_hi[q], _mm256_srli_epi16(first, 8));
      b_lo[q] = _mm256_add_epi16(b_lo[q], second);
      b_hi[q] = _mm256_add_epi16(b_hi[q], _mm256_srli_epi16(second, 8));
    }
  }
  for (size_t q = 0; q < kQ; ++q) {
    StoreHalf(a_lo[q], a_hi[q], out + q * 32);
    StoreHalf(b_lo[q], b_hi[q], out + q * 32 + 16);
  }
}

// Up to four queries, two per code load: four queries' 16 accumulators
// would not fit AVX2's 16 registers beside the codes and tables.
inline void AccumulateQueries(const uint8_t* block, size_t pairs,
                              const uint8_t* const* luts, size_t nq,
                              uint16_t* out) {
  size_t q = 0;
  for (; q + 2 <= nq; q += 2)
    AccumulateBlockQueries<2>(block, pairs, luts + q, out + q * 32);
  if (q < nq) AccumulateBlockQueries<1>(block, pairs, luts + q, out + q * 32);
}

}  // namespace
}  // namespace avx2

template <>
const pq::Table IsaTable<pq::Table, Isa::kAvx2>::kTable = {
    .isa = Isa::kAvx2,
    .scan8 = &avx2::Scan8,
    .scan4_fastscan = &Scan4FastScan<&avx2::AccumulateBlock>,
    .scan4_fastscan_filter = &Scan4FastScanFilter<&avx2::AccumulateBlock>,
    .scan4_fastscan_filter_multi =
        &Scan4FastScanFilterMulti<&avx2::AccumulateQueries>,
    .inner_product_tables = &InnerProductTables<avx2::Simd>,
    .nearest_codewords = &NearestCodewords<avx2::Simd>,
    .quantize_lut4 = &QuantizeLut4Avx2,
};

}  // namespace vindex::kernels
