#ifndef VINDEX_SRC_KERNELS_X86_QUANTIZE_LUT4_H_
#define VINDEX_SRC_KERNELS_X86_QUANTIZE_LUT4_H_

// The AVX2 body of pq::Table::quantize_lut4, shared by avx2_pq.cc and
// avx512_pq.cc. Include only from files built with AVX2 flags: the function
// has internal linkage so each includer gets its own copy for its flags.

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vindex::kernels {
namespace {

// Every lane holds the minimum (maximum) of v's 8 lanes.
inline __m256 AllLanesMin(__m256 v) {
  v = _mm256_min_ps(v, _mm256_permute2f128_ps(v, v, 1));
  v = _mm256_min_ps(v, _mm256_shuffle_ps(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm256_min_ps(v, _mm256_shuffle_ps(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
}
inline __m256 AllLanesMax(__m256 v) {
  v = _mm256_max_ps(v, _mm256_permute2f128_ps(v, v, 1));
  v = _mm256_max_ps(v, _mm256_shuffle_ps(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm256_max_ps(v, _mm256_shuffle_ps(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
}

// Same operations as the scalar twin, lane by lane (min, max, sub, mul, add
// and truncation are exact in both), so the result equals it bit for bit.
float QuantizeLut4Avx2(const float* lut, size_t m, uint8_t* q8, float* lo_sum) {
  const size_t pairs = (m + 1) / 2;
  const int qmax = std::min<int>(255, static_cast<int>(65535 / (2 * pairs)));
  float range = 0.0f, lows = 0.0f;
  for (size_t j = 0; j < m; ++j) {
    const __m256 a = _mm256_loadu_ps(lut + j * 16);
    const __m256 b = _mm256_loadu_ps(lut + j * 16 + 8);
    const float mn = _mm256_cvtss_f32(AllLanesMin(_mm256_min_ps(a, b)));
    const float mx = _mm256_cvtss_f32(AllLanesMax(_mm256_max_ps(a, b)));
    lows += mn;
    range = std::max(range, mx - mn);
  }
  *lo_sum = lows;
  const float scale = range > 0 ? qmax / range : 0.0f;
  const __m256 vscale = _mm256_set1_ps(scale);
  const __m256 half = _mm256_set1_ps(0.5f);
  const __m256 top = _mm256_set1_ps(static_cast<float>(qmax));
  for (size_t j = 0; j < m; ++j) {
    const __m256 a = _mm256_loadu_ps(lut + j * 16);
    const __m256 b = _mm256_loadu_ps(lut + j * 16 + 8);
    const __m256 mn = AllLanesMin(_mm256_min_ps(a, b));
    const __m256 fa = _mm256_min_ps(
        _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(a, mn), vscale), half), top);
    const __m256 fb = _mm256_min_ps(
        _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(b, mn), vscale), half), top);
    // int32 -> int16 (lane-interleaved), reorder, then -> uint8 in order.
    const __m256i w = _mm256_permute4x64_epi64(
        _mm256_packs_epi32(_mm256_cvttps_epi32(fa), _mm256_cvttps_epi32(fb)),
        0xD8);
    const __m128i bytes = _mm_packus_epi16(_mm256_castsi256_si128(w),
                                           _mm256_extracti128_si256(w, 1));
    _mm_storeu_si128(
        reinterpret_cast<__m128i*>(q8 + (j / 2) * 32 + (j % 2) * 16), bytes);
  }
  if (m % 2 == 1) std::memset(q8 + (pairs - 1) * 32 + 16, 0, 16);
  return range > 0 ? range / qmax : 0.0f;
}

}  // namespace
}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_X86_QUANTIZE_LUT4_H_
