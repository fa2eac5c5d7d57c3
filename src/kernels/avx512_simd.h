#ifndef VINDEX_SRC_KERNELS_AVX512_SIMD_H_
#define VINDEX_SRC_KERNELS_AVX512_SIMD_H_

// The AVX-512 vector operations the shared kernel bodies (x86_distance.h,
// x86_pq_tables.h) are written in: 16 float lanes. Include only from files
// built with AVX-512 flags.

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace vindex::kernels::avx512 {
namespace {

struct Simd {
  using Vec = __m512;
  using Index = __m512i;  // 16 int32 lanes.
  using Mask = __mmask16;
  static constexpr size_t kW = 16;

  static Vec Zero() { return _mm512_setzero_ps(); }
  static Index ZeroIndex() { return _mm512_setzero_si512(); }
  static Vec Set1(float x) { return _mm512_set1_ps(x); }
  static Vec Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static Vec Add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec Sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
  static Vec Fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  // a * b - c, lane by lane.
  static Vec Fmsub(Vec a, Vec b, Vec c) { return _mm512_fmsub_ps(a, b, c); }
  // kW bytes at p, each as a float.
  static Vec LoadBytes(const uint8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }

  // kW bytes at p, the low (high) 4 bits of each as a float.
  static Vec LoadLowNibbles(const uint8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_and_si512(
        _mm512_cvtepu8_epi32(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
        _mm512_set1_epi32(15)));
  }
  static Vec LoadHighNibbles(const uint8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_srli_epi32(
        _mm512_cvtepu8_epi32(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
        4));
  }

  // Lanes [0, live), live <= kW.
  static Mask FirstLanes(size_t live) {
    return static_cast<__mmask16>((1u << live) - 1u);
  }
  // Zero outside m; never touches memory outside m.
  static Vec MaskLoad(const float* p, Mask m) {
    return _mm512_maskz_loadu_ps(m, p);
  }
  static void MaskStore(float* p, Mask m, Vec v) {
    _mm512_mask_storeu_ps(p, m, v);
  }
  static Vec InfOutside(Mask m, Vec v) {
    return _mm512_mask_blend_ps(m, _mm512_set1_ps(__builtin_inff()), v);
  }

  static float ReduceAdd(Vec v) { return _mm512_reduce_add_ps(v); }
  // out[0..3] = the sums of a, b, c and d.
  static void StoreSums4(float* out, Vec a, Vec b, Vec c, Vec d) {
    out[0] = _mm512_reduce_add_ps(a);
    out[1] = _mm512_reduce_add_ps(b);
    out[2] = _mm512_reduce_add_ps(c);
    out[3] = _mm512_reduce_add_ps(d);
  }

  // Keeps, lane by lane, the first smallest score and its codeword c + lane.
  static void TrackMin(Vec s, size_t c, Vec& vmin, Index& vidx) {
    const __m512i lane =
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __mmask16 less = _mm512_cmp_ps_mask(s, vmin, _CMP_LT_OQ);
    vmin = _mm512_mask_blend_ps(less, vmin, s);
    vidx = _mm512_mask_blend_epi32(
        less, vidx,
        _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(c)), lane));
  }
  // The smallest score; among the lanes holding it, the first codeword.
  static void FirstMin(Vec vmin, Index vidx, int32_t* code, float* best) {
    const float m = _mm512_reduce_min_ps(vmin);
    const __mmask16 at =
        _mm512_cmp_ps_mask(vmin, _mm512_set1_ps(m), _CMP_EQ_OQ);
    *code = _mm512_mask_reduce_min_epi32(at, vidx);
    *best = m;
  }
};

}  // namespace
}  // namespace vindex::kernels::avx512

#endif  // VINDEX_SRC_KERNELS_AVX512_SIMD_H_
