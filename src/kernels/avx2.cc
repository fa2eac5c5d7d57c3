// AVX2 + FMA kernels, compiled with the flags of the avx2 row of
// isa_table.def; callers reach them through the kernel table.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/avx2_simd.h"
#include "kernels/kernels.h"
#include "kernels/x86_distance.h"
#include "kernels/x86_kth_smallest.h"

namespace vindex::kernels::avx2 {
namespace {

void L2FromIp(const float* ip, const float* norms, float qnorm, size_t n,
              float* out) {
  const __m256 qn = _mm256_set1_ps(qnorm);
  const __m256 minus2 = _mm256_set1_ps(-2.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_add_ps(qn, _mm256_loadu_ps(norms + i));
    _mm256_storeu_ps(out + i,
                     _mm256_fmadd_ps(minus2, _mm256_loadu_ps(ip + i), v));
  }
  for (; i < n; ++i) out[i] = qnorm + norms[i] - 2.0f * ip[i];
}

size_t ThresholdFilter(const float* dist, size_t n, float threshold,
                       uint32_t* out_idx) {
  const __m256 t = _mm256_set1_ps(threshold);
  size_t m = 0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint32_t b0 = _mm256_movemask_ps(
        _mm256_cmp_ps(_mm256_loadu_ps(dist + i), t, _CMP_LE_OQ));
    uint32_t b1 = _mm256_movemask_ps(
        _mm256_cmp_ps(_mm256_loadu_ps(dist + i + 8), t, _CMP_LE_OQ));
    uint32_t b2 = _mm256_movemask_ps(
        _mm256_cmp_ps(_mm256_loadu_ps(dist + i + 16), t, _CMP_LE_OQ));
    uint32_t b3 = _mm256_movemask_ps(
        _mm256_cmp_ps(_mm256_loadu_ps(dist + i + 24), t, _CMP_LE_OQ));
    uint32_t bits = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
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

// Eight counts at a time: every dist[j] is broadcast and compared with the
// block; a true compare is all ones (-1), so subtracting it counts. Two
// accumulators halve the dependency chain.
void CountLess(const float* dist, size_t n, uint32_t* less) {
  for (size_t i = 0; i < n; i += 8) {
    const size_t w = n - i < 8 ? n - i : 8;
    float block[8];
    for (size_t t = 0; t < 8; ++t) block[t] = t < w ? dist[i + t] : 0.0f;
    const __m256 d = _mm256_loadu_ps(block);
    __m256i lt0 = _mm256_setzero_si256(), lt1 = _mm256_setzero_si256();
    size_t j = 0;
    for (; j + 2 <= n; j += 2) {
      lt0 = _mm256_sub_epi32(
          lt0, _mm256_castps_si256(_mm256_cmp_ps(_mm256_broadcast_ss(dist + j),
                                                 d, _CMP_LT_OQ)));
      lt1 = _mm256_sub_epi32(
          lt1, _mm256_castps_si256(_mm256_cmp_ps(
                   _mm256_broadcast_ss(dist + j + 1), d, _CMP_LT_OQ)));
    }
    if (j < n) {
      lt0 = _mm256_sub_epi32(
          lt0, _mm256_castps_si256(_mm256_cmp_ps(_mm256_broadcast_ss(dist + j),
                                                 d, _CMP_LT_OQ)));
    }
    uint32_t out[8];
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                        _mm256_add_epi32(lt0, lt1));
    for (size_t t = 0; t < w; ++t) less[i + t] = out[t];
  }
}

// For each 8-bit mask, the lanes whose bit is set, packed to the front: AVX2
// has no compress instruction, so a permute by this row stands in for one.
struct CompressRows {
  int32_t lanes[256][8];
  constexpr CompressRows() : lanes() {
    for (int m = 0; m < 256; ++m) {
      int j = 0;
      for (int b = 0; b < 8; ++b) {
        if ((m >> b) & 1) lanes[m][j++] = b;
      }
    }
  }
};
constexpr CompressRows kCompressRows;

// Quickselect (x86_kth_smallest.h) with a branch-free partition pass: 8
// values at a time are compared with the pivot and the smaller and larger
// ones packed by a permute onto the two outputs.
float KthSmallest(const float* dist, size_t n, size_t k, float* scratch) {
  auto partition = [](const float* in, size_t n, float pivot, float* lo,
                      float* hi, size_t* n_lo, size_t* n_hi) {
    const __m256 p = _mm256_set1_ps(pivot);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (size_t i = 0; i < n; i += 8) {
      const int left = static_cast<int>(n - i < 8 ? n - i : 8);
      const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lane);
      const __m256 x = _mm256_maskload_ps(in + i, live);
      const int valid = (1 << left) - 1;
      const int lt =
          _mm256_movemask_ps(_mm256_cmp_ps(x, p, _CMP_LT_OQ)) & valid;
      const int gt =
          _mm256_movemask_ps(_mm256_cmp_ps(x, p, _CMP_GT_OQ)) & valid;
      const __m256i lt_lanes = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(kCompressRows.lanes[lt]));
      const __m256i gt_lanes = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(kCompressRows.lanes[gt]));
      _mm256_storeu_ps(lo + *n_lo, _mm256_permutevar8x32_ps(x, lt_lanes));
      _mm256_storeu_ps(hi + *n_hi, _mm256_permutevar8x32_ps(x, gt_lanes));
      *n_lo += static_cast<size_t>(__builtin_popcount(lt));
      *n_hi += static_cast<size_t>(__builtin_popcount(gt));
    }
  };
  return QuickselectKth(dist, n, k, scratch, partition);
}

}  // namespace
}  // namespace vindex::kernels::avx2

namespace vindex::kernels {
template <>
const KernelTable IsaTable<KernelTable, Isa::kAvx2>::kTable = {
    .isa = Isa::kAvx2,
    .l2_sqr = &Pair<avx2::Simd, L2Op>,
    .inner_product = &Pair<avx2::Simd, IpOp>,
    .l2_sqr_rows = &Rows<avx2::Simd, L2Op>,
    .inner_product_rows = &Rows<avx2::Simd, IpOp>,
    .l2_sqr_rows_multi = &RowsMulti<avx2::Simd, L2Op>,
    .inner_product_rows_multi = &RowsMulti<avx2::Simd, IpOp>,
    .l2_sqr_rows_bounded = &RowsBounded<avx2::Simd>,
    .l2_sqr_below = &PairBelow<avx2::Simd>,
    .l2_from_ip = &avx2::L2FromIp,
    .threshold_filter = &avx2::ThresholdFilter,
    .count_less = &avx2::CountLess,
    .kth_smallest = &avx2::KthSmallest,
};

}  // namespace vindex::kernels
