#ifndef VINDEX_SRC_KERNELS_X86_DISTANCE_H_
#define VINDEX_SRC_KERNELS_X86_DISTANCE_H_

// The bodies of KernelTable's l2_sqr, inner_product and their _rows forms,
// written once over a vector width: avx2.cc and avx512.cc instantiate them
// with their own Simd (avx2_simd.h, avx512_simd.h). Include only from files
// built with SIMD flags: internal linkage gives each includer its own copy.

#include <cstddef>

#include "core/prefetch.h"

namespace vindex::kernels {
namespace {

// acc + (x - y)^2, lane by lane.
template <class Simd>
struct L2Op {
  static typename Simd::Vec Step(typename Simd::Vec acc, typename Simd::Vec x,
                                 typename Simd::Vec y) {
    const typename Simd::Vec t = Simd::Sub(x, y);
    return Simd::Fmadd(t, t, acc);
  }
};

// acc + x * y, lane by lane.
template <class Simd>
struct IpOp {
  static typename Simd::Vec Step(typename Simd::Vec acc, typename Simd::Vec x,
                                 typename Simd::Vec y) {
    return Simd::Fmadd(x, y, acc);
  }
};

// Prefetches rows [first, first + 4), when they exist, as one run of cache
// lines.
inline void PrefetchFourRows(const float* rows, size_t first, size_t n,
                             size_t d, size_t stride) {
  if (first + 4 > n) return;
  internal::PrefetchRange(rows + first * stride,
                          (3 * stride + d) * sizeof(float));
}

// One pair, four accumulators wide; the tail is a masked load.
template <class Simd, template <class> class Op>
float Pair(const float* a, const float* b, size_t d) {
  constexpr size_t kW = Simd::kW;
  using Step = Op<Simd>;
  typename Simd::Vec s0 = Simd::Zero(), s1 = Simd::Zero();
  typename Simd::Vec s2 = Simd::Zero(), s3 = Simd::Zero();
  size_t j = 0;
  for (; j + 4 * kW <= d; j += 4 * kW) {
    s0 = Step::Step(s0, Simd::Load(a + j), Simd::Load(b + j));
    s1 = Step::Step(s1, Simd::Load(a + j + kW), Simd::Load(b + j + kW));
    s2 = Step::Step(s2, Simd::Load(a + j + 2 * kW), Simd::Load(b + j + 2 * kW));
    s3 = Step::Step(s3, Simd::Load(a + j + 3 * kW), Simd::Load(b + j + 3 * kW));
  }
  for (; j + kW <= d; j += kW) {
    s0 = Step::Step(s0, Simd::Load(a + j), Simd::Load(b + j));
  }
  if (j < d) {
    const typename Simd::Mask m = Simd::FirstLanes(d - j);
    s1 = Step::Step(s1, Simd::MaskLoad(a + j, m), Simd::MaskLoad(b + j, m));
  }
  return Simd::ReduceAdd(Simd::Add(Simd::Add(s0, s1), Simd::Add(s2, s3)));
}

// One query against four rows at a time: the query is loaded once per step,
// and the rows a few KiB ahead are prefetched (core/prefetch.h).
template <class Simd, template <class> class Op>
void Rows(const float* q, const float* rows, size_t n, size_t d, size_t stride,
          float* out) {
  constexpr size_t kW = Simd::kW;
  using Step = Op<Simd>;
  size_t i = 0;
  const size_t full = d & ~(kW - 1);
  const typename Simd::Mask tail = Simd::FirstLanes(d - full);
  const size_t ahead = internal::PrefetchRowsAhead(stride * sizeof(float), 4);
  for (; i + 4 <= n; i += 4) {
    PrefetchFourRows(rows, i + ahead, n, d, stride);
    const float* r0 = rows + i * stride;
    const float* r1 = r0 + stride;
    const float* r2 = r1 + stride;
    const float* r3 = r2 + stride;
    typename Simd::Vec s0 = Simd::Zero(), s1 = Simd::Zero();
    typename Simd::Vec s2 = Simd::Zero(), s3 = Simd::Zero();
    size_t j = 0;
    for (; j < full; j += kW) {
      const typename Simd::Vec x = Simd::Load(q + j);
      s0 = Step::Step(s0, x, Simd::Load(r0 + j));
      s1 = Step::Step(s1, x, Simd::Load(r1 + j));
      s2 = Step::Step(s2, x, Simd::Load(r2 + j));
      s3 = Step::Step(s3, x, Simd::Load(r3 + j));
    }
    if (j < d) {
      const typename Simd::Vec x = Simd::MaskLoad(q + j, tail);
      s0 = Step::Step(s0, x, Simd::MaskLoad(r0 + j, tail));
      s1 = Step::Step(s1, x, Simd::MaskLoad(r1 + j, tail));
      s2 = Step::Step(s2, x, Simd::MaskLoad(r2 + j, tail));
      s3 = Step::Step(s3, x, Simd::MaskLoad(r3 + j, tail));
    }
    Simd::StoreSums4(out + i, s0, s1, s2, s3);
  }
  for (; i < n; ++i) out[i] = Pair<Simd, Op>(q, rows + i * stride, d);
}

}  // namespace
}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_X86_DISTANCE_H_
