// AVX-512 PQ kernels: 16-wide gathers for 8-bit codes; fast-scan shuffles two
// sub-quantizer pairs per 512-bit register.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/avx512_simd.h"
#include "kernels/pq_kernels.h"
#include "kernels/x86_fastscan.h"
#include "kernels/x86_pq_tables.h"
#include "kernels/x86_quantize_lut4.h"

namespace vindex::kernels {
namespace avx512 {
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

// Folds the two 256-bit halves of a 512-bit accumulator (pairs p and p + 1)
// into one 256-bit accumulator of the same meaning.
inline __m256i Fold(__m512i v) {
  return _mm256_add_epi16(_mm512_castsi512_si256(v),
                          _mm512_extracti64x4_epi64(v, 1));
}

// Folds a block's 512-bit sums to 256 bits, adds an odd last pair of codes
// (when `odd`: codes and table at `codes`, `lut`) with 256-bit steps, and
// stores the block's 32 sums into out.
inline void FinishBlock(__m512i a_lo, __m512i a_hi, __m512i b_lo, __m512i b_hi,
                        bool odd, const uint8_t* codes, const uint8_t* lut,
                        uint16_t* out) {
  __m256i a_lo2 = Fold(a_lo), a_hi2 = Fold(a_hi), b_lo2 = Fold(b_lo),
          b_hi2 = Fold(b_hi);
  if (odd) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i c =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes));
    const __m256i l = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut));
    const __m256i first = _mm256_shuffle_epi8(l, _mm256_and_si256(c, low4));
    const __m256i second =
        _mm256_shuffle_epi8(l, _mm256_and_si256(_mm256_srli_epi16(c, 4), low4));
    a_lo2 = _mm256_add_epi16(a_lo2, first);
    a_hi2 = _mm256_add_epi16(a_hi2, _mm256_srli_epi16(first, 8));
    b_lo2 = _mm256_add_epi16(b_lo2, second);
    b_hi2 = _mm256_add_epi16(b_hi2, _mm256_srli_epi16(second, 8));
  }
  StoreHalf(a_lo2, a_hi2, out);
  StoreHalf(b_lo2, b_hi2, out + 16);
}

// One block's 32 sums (see pq_kernels.h) into out.
inline void AccumulateBlock(const uint8_t* block, size_t pairs,
                            const uint8_t* lut, uint16_t* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
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
  FinishBlock(a_lo, a_hi, b_lo, b_hi, p < pairs, block + p * 32, lut + p * 32,
              out);
}

// One block's 32 sums for each of kQ queries (tables luts[q]) into
// out + q * 32: two pairs of codes per 512-bit load, split into nibbles once
// for all kQ tables; an odd last pair as in AccumulateBlock.
template <size_t kQ>
inline void AccumulateBlockQueries(const uint8_t* block, size_t pairs,
                                   const uint8_t* const* luts, uint16_t* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512i a_lo[kQ], a_hi[kQ], b_lo[kQ], b_hi[kQ];
  for (size_t q = 0; q < kQ; ++q) {
    a_lo[q] = a_hi[q] = b_lo[q] = b_hi[q] = _mm512_setzero_si512();
  }
  size_t p = 0;
  for (; p + 2 <= pairs; p += 2) {
    const __m512i c = _mm512_loadu_si512(block + p * 32);
    const __m512i lo = _mm512_and_si512(c, low4);
    const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(c, 4), low4);
    for (size_t q = 0; q < kQ; ++q) {
      const __m512i l = _mm512_loadu_si512(luts[q] + p * 32);
      const __m512i first = _mm512_shuffle_epi8(l, lo);
      const __m512i second = _mm512_shuffle_epi8(l, hi);
      a_lo[q] = _mm512_add_epi16(a_lo[q], first);
      a_hi[q] = _mm512_add_epi16(a_hi[q], _mm512_srli_epi16(first, 8));
      b_lo[q] = _mm512_add_epi16(b_lo[q], second);
      b_hi[q] = _mm512_add_epi16(b_hi[q], _mm512_srli_epi16(second, 8));
    }
  }
  for (size_t q = 0; q < kQ; ++q) {
    FinishBlock(a_lo[q], a_hi[q], b_lo[q], b_hi[q], p < pairs, block + p * 32,
                luts[q] + p * 32, out + q * 32);
  }
}

// Up to four queries per code load: their 16 accumulators fit AVX-512's 32
// registers beside the codes and tables.
inline void AccumulateQueries(const uint8_t* block, size_t pairs,
                              const uint8_t* const* luts, size_t nq,
                              uint16_t* out) {
  switch (nq) {
    case 1:
      return AccumulateBlockQueries<1>(block, pairs, luts, out);
    case 2:
      return AccumulateBlockQueries<2>(block, pairs, luts, out);
    case 3:
      return AccumulateBlockQueries<3>(block, pairs, luts, out);
    default:
      return AccumulateBlockQueries<4>(block, pairs, luts, out);
  }
}

}  // namespace
}  // namespace avx512

template <>
const pq::Table IsaTable<pq::Table, Isa::kAvx512>::kTable = {
    .isa = Isa::kAvx512,
    .scan8 = &avx512::Scan8,
    .scan4_fastscan = &Scan4FastScan<&avx512::AccumulateBlock>,
    .scan4_fastscan_filter = &Scan4FastScanFilter<&avx512::AccumulateBlock>,
    .scan4_fastscan_filter_multi =
        &Scan4FastScanFilterMulti<&avx512::AccumulateQueries>,
    .inner_product_tables = &InnerProductTables<avx512::Simd>,
    .nearest_codewords = &NearestCodewords<avx512::Simd>,
    .quantize_lut4 = &QuantizeLut4Avx2,
};

}  // namespace vindex::kernels
