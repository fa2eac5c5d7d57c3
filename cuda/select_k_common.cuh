#ifndef VINDEX_CUDA_SELECT_K_COMMON_CUH_
#define VINDEX_CUDA_SELECT_K_COMMON_CUH_

// Device helpers shared by the k-selection kernels: the (value, id) order,
// element fetch with bias/mask/indirection, and a block-wide bitonic sort in
// shared memory.

#include <climits>
#include <cstdint>

#include "select_k_kernels.h"

namespace vindex::cuda {

// Empty slots sort after every real entry (real ids are < INT_MAX).
constexpr int kEmptyId = INT_MAX;

// The order of results: by value, then by smaller id (as the CPU TopK).
__device__ __forceinline__ bool Before(float av, int ai, float bv, int bi) {
  return av < bv || (av == bv && ai < bi);
}

// Value and id of column c of a row; NaN marks an excluded entry.
__device__ __forceinline__ void FetchEntry(const SelectKArgs& a,
                                           const float* row,
                                           const int32_t* idx_row, int64_t c,
                                           float* v, int* id) {
  float x = row[c];
  if (a.in_idx != nullptr) {
    *id = idx_row[c];
    if (*id < 0) x = __int_as_float(0x7fc00000);
  } else {
    const int64_t g = a.col_offset + c;
    *id = static_cast<int>(g);
    if (a.col_mask != nullptr && !((a.col_mask[g >> 6] >> (g & 63)) & 1)) {
      x = __int_as_float(0x7fc00000);
    }
  }
  if (a.col_bias != nullptr) x += a.col_bias[c];
  *v = x;
}

// Sorts v/id[0..n) ascending by (value, id); n a power of two. Called by the
// whole block; ends with a barrier.
__device__ __forceinline__ void BlockBitonicSort(float* v, int* id, int n) {
  const int tid = threadIdx.x;
  const int nthreads = blockDim.x;
  for (int size = 2; size <= n; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int t = tid; t < (n >> 1); t += nthreads) {
        const int lo = 2 * t - (t & (stride - 1));
        const int hi = lo + stride;
        const bool ascending = (lo & size) == 0;
        const float vl = v[lo], vh = v[hi];
        const int il = id[lo], ih = id[hi];
        const bool swap =
            ascending ? Before(vh, ih, vl, il) : Before(vl, il, vh, ih);
        if (swap) {
          v[lo] = vh;
          v[hi] = vl;
          id[lo] = ih;
          id[hi] = il;
        }
      }
      __syncthreads();
    }
  }
}

// Writes the first k sorted entries of a (row, chunk) result.
__device__ __forceinline__ void WriteResult(const SelectKArgs& a, int64_t r,
                                            int64_t chunk_index, const float* v,
                                            const int* id) {
  const int64_t base = r * a.out_ld + chunk_index * a.k;
  for (int i = threadIdx.x; i < a.k; i += blockDim.x) {
    const bool empty = id[i] == kEmptyId;
    a.out_dist[base + i] = empty ? __int_as_float(0x7f800000) : v[i];
    a.out_idx[base + i] = empty ? -1 : id[i];
  }
}

}  // namespace vindex::cuda

#endif  // VINDEX_CUDA_SELECT_K_COMMON_CUH_
