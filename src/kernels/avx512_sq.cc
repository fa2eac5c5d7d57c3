// AVX-512 (F + BW) 8-bit code kernels: 32 codes per step widened to 16 bits,
// multiply-add pairs into 32-bit lanes. Exact, so equal to the scalar
// reference.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/sq_kernels.h"

namespace vindex::kernels {
namespace avx512 {
namespace {

// Sums the 16 lanes modulo 2^32 (the intrinsic reduce uses signed adds,
// which may overflow for large d; the true sum always fits in 32 bits).
inline uint32_t SumLanes(__m512i v) {
  alignas(64) uint32_t lanes[16];
  _mm512_store_si512(lanes, v);
  uint32_t s = 0;
  for (uint32_t x : lanes) s += x;
  return s;
}

inline __m512i Load32(const uint8_t* p) {
  return _mm512_cvtepu8_epi16(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

uint32_t L2SqrU8(const uint8_t* a, const uint8_t* b, size_t d) {
  __m512i acc = _mm512_setzero_si512();
  size_t j = 0;
  for (; j + 32 <= d; j += 32) {
    __m512i t = _mm512_sub_epi16(Load32(a + j), Load32(b + j));
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(t, t));
  }
  uint32_t s = SumLanes(acc);
  for (; j < d; ++j) {
    const int32_t t = static_cast<int32_t>(a[j]) - static_cast<int32_t>(b[j]);
    s += static_cast<uint32_t>(t * t);
  }
  return s;
}

// 4-bit codes, 64 bytes per step; the last step loads under a mask (bytes
// past the end read as zero on both sides, adding nothing). See avx2_sq.cc
// for the lane bounds.
struct NibbleStep {
  __mmask64 mask;  // The bytes of this step.
  __m512i lo, hi;  // Elements j.. and p + j.. of the code.
};

inline NibbleStep LoadNibbles(const uint8_t* c, size_t j, size_t p) {
  const __m512i nibble = _mm512_set1_epi8(15);
  NibbleStep n;
  n.mask = p - j >= 64 ? ~__mmask64{0} : (__mmask64{1} << (p - j)) - 1;
  const __m512i code = _mm512_maskz_loadu_epi8(n.mask, c + j);
  n.lo = _mm512_and_si512(code, nibble);
  n.hi = _mm512_and_si512(_mm512_srli_epi16(code, 4), nibble);
  return n;
}

uint32_t L2SqrU4(const uint8_t* q, const uint8_t* c, size_t p) {
  const __m512i ones = _mm512_set1_epi16(1);
  __m512i acc = _mm512_setzero_si512();
  for (size_t j = 0; j < p; j += 64) {
    const NibbleStep n = LoadNibbles(c, j, p);
    const __m512i dlo = _mm512_abs_epi8(
        _mm512_sub_epi8(_mm512_maskz_loadu_epi8(n.mask, q + j), n.lo));
    const __m512i dhi = _mm512_abs_epi8(
        _mm512_sub_epi8(_mm512_maskz_loadu_epi8(n.mask, q + p + j), n.hi));
    const __m512i sq = _mm512_add_epi16(_mm512_maddubs_epi16(dlo, dlo),
                                        _mm512_maddubs_epi16(dhi, dhi));
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(sq, ones));
  }
  return SumLanes(acc);
}

uint32_t DotU8U4(const uint8_t* q, const uint8_t* c, size_t p) {
  const __m512i ones = _mm512_set1_epi16(1);
  __m512i acc = _mm512_setzero_si512();
  for (size_t j = 0; j < p; j += 64) {
    const NibbleStep n = LoadNibbles(c, j, p);
    const __m512i pairs = _mm512_add_epi16(
        _mm512_maddubs_epi16(_mm512_maskz_loadu_epi8(n.mask, q + j), n.lo),
        _mm512_maddubs_epi16(_mm512_maskz_loadu_epi8(n.mask, q + p + j), n.hi));
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, ones));
  }
  return SumLanes(acc);
}

uint32_t DotU8(const uint8_t* a, const uint8_t* b, size_t d) {
  __m512i acc = _mm512_setzero_si512();
  size_t j = 0;
  for (; j + 32 <= d; j += 32) {
    acc =
        _mm512_add_epi32(acc, _mm512_madd_epi16(Load32(a + j), Load32(b + j)));
  }
  uint32_t s = SumLanes(acc);
  for (; j < d; ++j) s += static_cast<uint32_t>(a[j]) * b[j];
  return s;
}

inline __m512 LoadHalf16(const uint16_t* p) {
  return _mm512_cvtph_ps(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

float L2SqrF16(const float* q, const uint16_t* x, size_t d) {
  __m512 acc = _mm512_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= d; j += 16) {
    const __m512 t = _mm512_sub_ps(_mm512_loadu_ps(q + j), LoadHalf16(x + j));
    acc = _mm512_fmadd_ps(t, t, acc);
  }
  if (j < d) {  // Masked tail: lanes past d load as zero on both sides.
    const __mmask16 m = static_cast<__mmask16>((1u << (d - j)) - 1);
    const __m512 xq = _mm512_maskz_loadu_ps(m, q + j);
    const __m512 xx = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + j));
    const __m512 t = _mm512_sub_ps(xq, xx);
    acc = _mm512_fmadd_ps(t, t, acc);
  }
  return _mm512_reduce_add_ps(acc);
}

float IpF16(const float* q, const uint16_t* x, size_t d) {
  __m512 acc = _mm512_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= d; j += 16) {
    acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), LoadHalf16(x + j), acc);
  }
  if (j < d) {
    const __mmask16 m = static_cast<__mmask16>((1u << (d - j)) - 1);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + j),
                          _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + j)),
                          acc);
  }
  return _mm512_reduce_add_ps(acc);
}

}  // namespace
}  // namespace avx512

template <>
const SqKernelTable IsaTable<SqKernelTable, Isa::kAvx512>::kTable = {
    .isa = Isa::kAvx512,
    .l2_sqr_u8 = &avx512::L2SqrU8,
    .dot_u8 = &avx512::DotU8,
    .l2_sqr_u4 = &avx512::L2SqrU4,
    .dot_u8_u4 = &avx512::DotU8U4,
    .l2_sqr_f16 = &avx512::L2SqrF16,
    .ip_f16 = &avx512::IpF16,
};

}  // namespace vindex::kernels
