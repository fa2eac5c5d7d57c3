// AVX2 8-bit code kernels: widen to 16 bits, then multiply-add pairs into
// 32-bit lanes. Exact (integer), so they equal the scalar reference.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/sq_kernels.h"

namespace vindex::kernels {
namespace avx2 {
namespace {

// The sum of four 32-bit lanes.
inline uint32_t SumLanes(__m128i s) {
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(s));
}

// Eight 32-bit lanes folded into four.
inline __m128i FoldHalves(__m256i v) {
  return _mm_add_epi32(_mm256_castsi256_si128(v),
                       _mm256_extracti128_si256(v, 1));
}

inline uint32_t SumLanes(__m256i v) { return SumLanes(FoldHalves(v)); }

inline __m256i Load16(const uint8_t* p) {
  return _mm256_cvtepu8_epi16(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

uint32_t L2SqrU8(const uint8_t* a, const uint8_t* b, size_t d) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  size_t j = 0;
  for (; j + 32 <= d; j += 32) {
    __m256i t0 = _mm256_sub_epi16(Load16(a + j), Load16(b + j));
    __m256i t1 = _mm256_sub_epi16(Load16(a + j + 16), Load16(b + j + 16));
    acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(t0, t0));
    acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(t1, t1));
  }
  if (j + 16 <= d) {
    __m256i t0 = _mm256_sub_epi16(Load16(a + j), Load16(b + j));
    acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(t0, t0));
    j += 16;
  }
  uint32_t s = SumLanes(_mm256_add_epi32(acc0, acc1));
  for (; j < d; ++j) {
    const int32_t t = static_cast<int32_t>(a[j]) - static_cast<int32_t>(b[j]);
    s += static_cast<uint32_t>(t * t);
  }
  return s;
}

// 4-bit codes: a 32-byte load holds elements j..j+31 (low nibbles) and
// p+j..p+j+31 (high nibbles).
inline void LoadNibbles(const uint8_t* c, __m256i* lo, __m256i* hi) {
  const __m256i nibble = _mm256_set1_epi8(15);
  const __m256i code = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c));
  *lo = _mm256_and_si256(code, nibble);
  *hi = _mm256_and_si256(_mm256_srli_epi16(code, 4), nibble);
}

inline __m256i Load256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Scalar ends of the 4-bit kernels: code bytes j..p-1.
inline uint32_t L2SqrU4Tail(const uint8_t* q, const uint8_t* c, size_t p,
                            size_t j) {
  uint32_t s = 0;
  for (; j < p; ++j) {
    const int32_t lo = static_cast<int32_t>(q[j]) - (c[j] & 15);
    const int32_t hi = static_cast<int32_t>(q[p + j]) - (c[j] >> 4);
    s += static_cast<uint32_t>(lo * lo + hi * hi);
  }
  return s;
}

inline uint32_t DotU8U4Tail(const uint8_t* q, const uint8_t* c, size_t p,
                            size_t j) {
  uint32_t s = 0;
  for (; j < p; ++j)
    s += static_cast<uint32_t>(q[j]) * (c[j] & 15) +
         static_cast<uint32_t>(q[p + j]) * (c[j] >> 4);
  return s;
}

// The last 8 or 16 code bytes of a row (and the matching query bytes) in
// the low lanes of an SSE register; the lanes above read as zeros.
struct NibbleTail {
  __m128i code, q_lo, q_hi;
};

inline NibbleTail LoadTail(const uint8_t* q, const uint8_t* c, size_t p,
                           size_t j, bool sixteen) {
  const auto at = [](const uint8_t* x) {
    return reinterpret_cast<const __m128i*>(x);
  };
  if (sixteen) {
    return {_mm_loadu_si128(at(c + j)), _mm_loadu_si128(at(q + j)),
            _mm_loadu_si128(at(q + p + j))};
  }
  return {_mm_loadl_epi64(at(c + j)), _mm_loadl_epi64(at(q + j)),
          _mm_loadl_epi64(at(q + p + j))};
}

// Folds the 256-bit lanes and adds `step` over the 16- and then 8-byte
// pieces that fit in code bytes *j..p-1 (784-d rows end in 8 bytes), so
// at most 7 bytes are left to the scalar end.
template <typename Step>
__m128i AddSseEnd(__m256i acc, const uint8_t* q, const uint8_t* c, size_t p,
                  size_t* j, Step step) {
  __m128i acc4 = FoldHalves(acc);
  if (*j + 16 <= p) {
    acc4 = _mm_add_epi32(acc4, step(LoadTail(q, c, p, *j, true)));
    *j += 16;
  }
  if (*j + 8 <= p) {
    acc4 = _mm_add_epi32(acc4, step(LoadTail(q, c, p, *j, false)));
    *j += 8;
  }
  return acc4;
}

// Differences of values <= 15 fit in 8 bits, and maddubs sums two squares
// (<= 450) per 16-bit lane.
inline __m128i L2SqrU4Step(const NibbleTail& t) {
  const __m128i nibble = _mm_set1_epi8(15);
  const __m128i dlo =
      _mm_abs_epi8(_mm_sub_epi8(t.q_lo, _mm_and_si128(t.code, nibble)));
  const __m128i dhi = _mm_abs_epi8(
      _mm_sub_epi8(t.q_hi, _mm_and_si128(_mm_srli_epi16(t.code, 4), nibble)));
  return _mm_madd_epi16(
      _mm_add_epi16(_mm_maddubs_epi16(dlo, dlo), _mm_maddubs_epi16(dhi, dhi)),
      _mm_set1_epi16(1));
}

uint32_t L2SqrU4(const uint8_t* q, const uint8_t* c, size_t p) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  size_t j = 0;
  for (; j + 32 <= p; j += 32) {
    __m256i lo, hi;
    LoadNibbles(c + j, &lo, &hi);
    const __m256i dlo = _mm256_abs_epi8(_mm256_sub_epi8(Load256(q + j), lo));
    const __m256i dhi =
        _mm256_abs_epi8(_mm256_sub_epi8(Load256(q + p + j), hi));
    const __m256i sq = _mm256_add_epi16(_mm256_maddubs_epi16(dlo, dlo),
                                        _mm256_maddubs_epi16(dhi, dhi));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(sq, ones));
  }
  if (j == p) return SumLanes(acc);  // 128-d, 512-d, ...: no end.
  const __m128i acc4 = AddSseEnd(acc, q, c, p, &j, L2SqrU4Step);
  return SumLanes(acc4) + L2SqrU4Tail(q, c, p, j);
}

// maddubs multiplies the unsigned query bytes by the nibbles (<= 15, so
// valid signed bytes): two products per 16-bit lane, <= 7650, and the
// two halves together <= 15300.
inline __m128i DotU8U4Step(const NibbleTail& t) {
  const __m128i nibble = _mm_set1_epi8(15);
  const __m128i pairs = _mm_add_epi16(
      _mm_maddubs_epi16(t.q_lo, _mm_and_si128(t.code, nibble)),
      _mm_maddubs_epi16(t.q_hi,
                        _mm_and_si128(_mm_srli_epi16(t.code, 4), nibble)));
  return _mm_madd_epi16(pairs, _mm_set1_epi16(1));
}

uint32_t DotU8U4(const uint8_t* q, const uint8_t* c, size_t p) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  size_t j = 0;
  for (; j + 32 <= p; j += 32) {
    __m256i lo, hi;
    LoadNibbles(c + j, &lo, &hi);
    const __m256i pairs =
        _mm256_add_epi16(_mm256_maddubs_epi16(Load256(q + j), lo),
                         _mm256_maddubs_epi16(Load256(q + p + j), hi));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
  }
  if (j == p) return SumLanes(acc);  // 128-d, 512-d, ...: no end.
  const __m128i acc4 = AddSseEnd(acc, q, c, p, &j, DotU8U4Step);
  return SumLanes(acc4) + DotU8U4Tail(q, c, p, j);
}

uint32_t DotU8(const uint8_t* a, const uint8_t* b, size_t d) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  size_t j = 0;
  for (; j + 32 <= d; j += 32) {
    acc0 =
        _mm256_add_epi32(acc0, _mm256_madd_epi16(Load16(a + j), Load16(b + j)));
    acc1 = _mm256_add_epi32(
        acc1, _mm256_madd_epi16(Load16(a + j + 16), Load16(b + j + 16)));
  }
  if (j + 16 <= d) {
    acc0 =
        _mm256_add_epi32(acc0, _mm256_madd_epi16(Load16(a + j), Load16(b + j)));
    j += 16;
  }
  uint32_t s = SumLanes(_mm256_add_epi32(acc0, acc1));
  for (; j < d; ++j) s += static_cast<uint32_t>(a[j]) * b[j];
  return s;
}

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256 LoadHalf8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

float L2SqrF16(const float* q, const uint16_t* x, size_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= d; j += 16) {
    const __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(q + j), LoadHalf8(x + j));
    const __m256 t1 =
        _mm256_sub_ps(_mm256_loadu_ps(q + j + 8), LoadHalf8(x + j + 8));
    acc0 = _mm256_fmadd_ps(t0, t0, acc0);
    acc1 = _mm256_fmadd_ps(t1, t1, acc1);
  }
  if (j + 8 <= d) {
    const __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(q + j), LoadHalf8(x + j));
    acc0 = _mm256_fmadd_ps(t0, t0, acc0);
    j += 8;
  }
  float s = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; j < d; ++j) {
    const float t = q[j] - HalfToFloat(x[j]);
    s += t * t;
  }
  return s;
}

float IpF16(const float* q, const uint16_t* x, size_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= d; j += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), LoadHalf8(x + j), acc0);
    acc1 =
        _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 8), LoadHalf8(x + j + 8), acc1);
  }
  if (j + 8 <= d) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), LoadHalf8(x + j), acc0);
    j += 8;
  }
  float s = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; j < d; ++j) s += q[j] * HalfToFloat(x[j]);
  return s;
}

}  // namespace
}  // namespace avx2

template <>
const SqKernelTable IsaTable<SqKernelTable, Isa::kAvx2>::kTable = {
    .isa = Isa::kAvx2,
    .l2_sqr_u8 = &avx2::L2SqrU8,
    .dot_u8 = &avx2::DotU8,
    .l2_sqr_u4 = &avx2::L2SqrU4,
    .dot_u8_u4 = &avx2::DotU8U4,
    .l2_sqr_f16 = &avx2::L2SqrF16,
    .ip_f16 = &avx2::IpF16,
};

}  // namespace vindex::kernels
