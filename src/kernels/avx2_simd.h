#ifndef VINDEX_SRC_KERNELS_AVX2_SIMD_H_
#define VINDEX_SRC_KERNELS_AVX2_SIMD_H_

// The AVX2 vector operations the shared kernel bodies (x86_distance.h,
// x86_pq_tables.h) are written in: 8 float lanes. Include only from files
// built with AVX2 flags.

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace vindex::kernels::avx2 {
namespace {

struct Simd {
  using Vec = __m256;
  using Index = __m256i;  // 8 int32 lanes.
  using Mask = __m256i;   // All ones in the lanes that take part.
  static constexpr size_t kW = 8;

  static Vec Zero() { return _mm256_setzero_ps(); }
  static Index ZeroIndex() { return _mm256_setzero_si256(); }
  static Vec Set1(float x) { return _mm256_set1_ps(x); }
  static Vec Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static Vec Add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec Sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
  static Vec Fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  // a * b - c, lane by lane.
  static Vec Fmsub(Vec a, Vec b, Vec c) { return _mm256_fmsub_ps(a, b, c); }
  // kW bytes at p, each as a float.
  static Vec LoadBytes(const uint8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(
        _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }

  // kW bytes at p, the low (high) 4 bits of each as a float.
  static Vec LoadLowNibbles(const uint8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_and_si256(
        _mm256_cvtepu8_epi32(
            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))),
        _mm256_set1_epi32(15)));
  }
  static Vec LoadHighNibbles(const uint8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_srli_epi32(
        _mm256_cvtepu8_epi32(
            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))),
        4));
  }

  // Lanes [0, live), live <= kW.
  static Mask FirstLanes(size_t live) {
    alignas(32) static const int32_t kMask[16] = {
        -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(kMask + kW - live));
  }
  // Zero outside m; never touches memory outside m.
  static Vec MaskLoad(const float* p, Mask m) {
    return _mm256_maskload_ps(p, m);
  }
  static void MaskStore(float* p, Mask m, Vec v) {
    _mm256_maskstore_ps(p, m, v);
  }
  static Vec InfOutside(Mask m, Vec v) {
    return _mm256_blendv_ps(_mm256_set1_ps(__builtin_inff()), v,
                            _mm256_castsi256_ps(m));
  }

  static float ReduceAdd(Vec v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 sh = _mm_movehdup_ps(lo);
    lo = _mm_add_ps(lo, sh);
    sh = _mm_movehl_ps(sh, lo);
    lo = _mm_add_ss(lo, sh);
    return _mm_cvtss_f32(lo);
  }
  // out[0..3] = the sums of a, b, c and d.
  static void StoreSums4(float* out, Vec a, Vec b, Vec c, Vec d) {
    const __m256 ab = _mm256_hadd_ps(a, b);  // a01 a23 b01 b23 | a45 ...
    const __m256 cd = _mm256_hadd_ps(c, d);
    const __m256 abcd = _mm256_hadd_ps(ab, cd);  // a0-3 b0-3 c0-3 d0-3 | ...
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(abcd),
                                  _mm256_extractf128_ps(abcd, 1)));
  }

  // Keeps, lane by lane, the first smallest score and its codeword c + lane.
  static void TrackMin(Vec s, size_t c, Vec& vmin, Index& vidx) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 less = _mm256_cmp_ps(s, vmin, _CMP_LT_OQ);
    vmin = _mm256_blendv_ps(vmin, s, less);
    vidx = _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_castsi256_ps(vidx),
                         _mm256_castsi256_ps(_mm256_add_epi32(
                             _mm256_set1_epi32(static_cast<int>(c)), lane)),
                         less));
  }
  // The smallest score; among the lanes holding it, the first codeword.
  static void FirstMin(Vec vmin, Index vidx, int32_t* code, float* best) {
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
    *code = first;
    *best = m;
  }
};

}  // namespace
}  // namespace vindex::kernels::avx2

#endif  // VINDEX_SRC_KERNELS_AVX2_SIMD_H_
