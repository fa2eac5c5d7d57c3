#ifndef VINDEX_SRC_KERNELS_X86_KTH_SMALLEST_H_
#define VINDEX_SRC_KERNELS_X86_KTH_SMALLEST_H_

// The quickselect of KernelTable::kth_smallest around a per-ISA partition
// pass, shared by avx2.cc and avx512.cc. Include only from files built with
// SIMD flags: the function has internal linkage so each includer gets its
// own copy for its flags.

#include <algorithm>
#include <cstddef>

namespace vindex::kernels {
namespace {

// Each pass splits the n values at `in` around a pivot (median of the
// first, middle and last): partition(in, n, pivot, lo, hi, &n_lo, &n_hi)
// writes the smaller ones to lo and the larger to hi (each may be written up
// to 16 floats past its count) and drops the equal ones. The side holding
// position k is kept, among three scratch buffers in rotation; small
// remainders go to nth_element. Selection is exact, so the result equals
// the scalar kernel's.
template <typename Partition>
inline float QuickselectKth(const float* dist, size_t n, size_t k,
                            float* scratch, Partition partition) {
  const size_t cap = n + 16;
  float* buf[3] = {scratch, scratch + cap, scratch + 2 * cap};
  const float* in = dist;
  int in_buf = -1;  // dist itself.
  while (n > 32) {
    const float a = in[0], b = in[n / 2], c = in[n - 1];
    const float pivot = std::max(std::min(a, b), std::min(std::max(a, b), c));
    const int lo_buf = in_buf == 0 ? 1 : 0;
    const int hi_buf = 3 - (in_buf < 0 ? 2 : in_buf) - lo_buf;
    size_t n_lo = 0, n_hi = 0;
    partition(in, n, pivot, buf[lo_buf], buf[hi_buf], &n_lo, &n_hi);
    const size_t n_eq = n - n_lo - n_hi;
    if (k < n_lo) {
      in = buf[lo_buf];
      in_buf = lo_buf;
      n = n_lo;
    } else if (k < n_lo + n_eq) {
      return pivot;
    } else {
      k -= n_lo + n_eq;
      in = buf[hi_buf];
      in_buf = hi_buf;
      n = n_hi;
    }
  }
  float* rest = buf[in_buf == 0 ? 1 : 0];
  std::copy(in, in + n, rest);
  std::nth_element(rest, rest + k, rest + n);
  return rest[k];
}

}  // namespace
}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_X86_KTH_SMALLEST_H_
