// AVX-512 (F, BW, DQ, VL) kernels, compiled with the flags of the avx512 row
// of isa_table.def; callers reach them through the kernel table.
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/avx512_simd.h"
#include "kernels/kernels.h"
#include "kernels/x86_distance.h"
#include "kernels/x86_kth_smallest.h"

namespace vindex::kernels::avx512 {
namespace {

void L2FromIp(const float* ip, const float* norms, float qnorm, size_t n,
              float* out) {
  const __m512 qn = _mm512_set1_ps(qnorm);
  const __m512 minus2 = _mm512_set1_ps(-2.0f);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_add_ps(qn, _mm512_loadu_ps(norms + i));
    _mm512_storeu_ps(out + i,
                     _mm512_fmadd_ps(minus2, _mm512_loadu_ps(ip + i), v));
  }
  for (; i < n; ++i) out[i] = qnorm + norms[i] - 2.0f * ip[i];
}

size_t ThresholdFilter(const float* dist, size_t n, float threshold,
                       uint32_t* out_idx) {
  const __m512 t = _mm512_set1_ps(threshold);
  size_t m = 0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint32_t lo = _mm512_cmp_ps_mask(_mm512_loadu_ps(dist + i), t, _CMP_LE_OQ);
    uint32_t hi =
        _mm512_cmp_ps_mask(_mm512_loadu_ps(dist + i + 16), t, _CMP_LE_OQ);
    uint32_t bits = lo | (hi << 16);
    while (bits) {
      out_idx[m++] = static_cast<uint32_t>(i + __builtin_ctz(bits));
      bits &= bits - 1;
    }
  }
  for (; i < n; ++i) {
    if (dist[i] <= threshold) out_idx[m++] = static_cast<uint32_t>(i);
  }
  return m;
}

// Sixteen counts at a time: every dist[j] is broadcast and compared with
// the block, and the compare mask counts into the lanes. Two accumulators
// halve the dependency chain.
void CountLess(const float* dist, size_t n, uint32_t* less) {
  const __m512i one = _mm512_set1_epi32(1);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 live =
        n - i < 16 ? static_cast<__mmask16>((1u << (n - i)) - 1) : 0xffff;
    const __m512 d = _mm512_maskz_loadu_ps(live, dist + i);
    __m512i lt0 = _mm512_setzero_si512(), lt1 = _mm512_setzero_si512();
    size_t j = 0;
    for (; j + 2 <= n; j += 2) {
      lt0 = _mm512_mask_add_epi32(
          lt0, _mm512_cmp_ps_mask(_mm512_set1_ps(dist[j]), d, _CMP_LT_OQ), lt0,
          one);
      lt1 = _mm512_mask_add_epi32(
          lt1, _mm512_cmp_ps_mask(_mm512_set1_ps(dist[j + 1]), d, _CMP_LT_OQ),
          lt1, one);
    }
    if (j < n) {
      lt0 = _mm512_mask_add_epi32(
          lt0, _mm512_cmp_ps_mask(_mm512_set1_ps(dist[j]), d, _CMP_LT_OQ), lt0,
          one);
    }
    _mm512_mask_storeu_epi32(less + i, live, _mm512_add_epi32(lt0, lt1));
  }
}

// Quickselect (x86_kth_smallest.h) with a branch-free partition pass: 16
// values at a time are compared with the pivot and the smaller and larger
// ones compressed in registers onto the two outputs.
float KthSmallest(const float* dist, size_t n, size_t k, float* scratch) {
  auto partition = [](const float* in, size_t n, float pivot, float* lo,
                      float* hi, size_t* n_lo, size_t* n_hi) {
    const __m512 p = _mm512_set1_ps(pivot);
    for (size_t i = 0; i < n; i += 16) {
      const __mmask16 live =
          n - i < 16 ? static_cast<__mmask16>((1u << (n - i)) - 1) : 0xffff;
      const __m512 x = _mm512_maskz_loadu_ps(live, in + i);
      const __mmask16 lt = _mm512_mask_cmp_ps_mask(live, x, p, _CMP_LT_OQ);
      const __mmask16 gt = _mm512_mask_cmp_ps_mask(live, x, p, _CMP_GT_OQ);
      _mm512_storeu_ps(lo + *n_lo, _mm512_maskz_compress_ps(lt, x));
      _mm512_storeu_ps(hi + *n_hi, _mm512_maskz_compress_ps(gt, x));
      *n_lo += static_cast<size_t>(__builtin_popcount(lt));
      *n_hi += static_cast<size_t>(__builtin_popcount(gt));
    }
  };
  return QuickselectKth(dist, n, k, scratch, partition);
}

}  // namespace
}  // namespace vindex::kernels::avx512

namespace vindex::kernels {
template <>
const KernelTable IsaTable<KernelTable, Isa::kAvx512>::kTable = {
    .isa = Isa::kAvx512,
    .l2_sqr = &Pair<avx512::Simd, L2Op>,
    .inner_product = &Pair<avx512::Simd, IpOp>,
    .l2_sqr_rows = &Rows<avx512::Simd, L2Op>,
    .inner_product_rows = &Rows<avx512::Simd, IpOp>,
    .l2_sqr_rows_multi = &RowsMulti<avx512::Simd, L2Op>,
    .inner_product_rows_multi = &RowsMulti<avx512::Simd, IpOp>,
    .l2_sqr_rows_bounded = &RowsBounded<avx512::Simd>,
    .l2_sqr_below = &PairBelow<avx512::Simd>,
    .l2_from_ip = &avx512::L2FromIp,
    .threshold_filter = &avx512::ThresholdFilter,
    .count_less = &avx512::CountLess,
    .kth_smallest = &avx512::KthSmallest,
};

}  // namespace vindex::kernels
