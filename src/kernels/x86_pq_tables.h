#ifndef VINDEX_SRC_KERNELS_X86_PQ_TABLES_H_
#define VINDEX_SRC_KERNELS_X86_PQ_TABLES_H_

// The bodies of pq::Table::inner_product_tables and nearest_codewords,
// written once over a vector width: avx2_pq.cc and avx512_pq.cc instantiate
// them with their own `Simd` (8 or 16 float lanes). Include only from files
// built with SIMD flags: internal linkage gives each includer its own copy.
//
// Simd provides: Vec, Index (lanes of int32), Mask, kW (lanes),
// Zero(), ZeroIndex(), Set1(x), Load(p), Store(p, v), Add(a, b), Fmadd(a, b,
// c), FirstLanes(live) (the mask of lanes [0, live)), MaskLoad(p, m) (zero
// outside m), MaskStore(p, m, v), InfOutside(m, v), TrackMin(s, c, vmin,
// vidx) (keeps per lane the first smallest score and its codeword c + lane)
// and FirstMin(vmin, vidx, &code, &best) (the smallest score and, among the
// lanes holding it, the first codeword).

#include <cstddef>
#include <cstdint>

namespace vindex::kernels {
namespace {

// Table entries c .. c + 4 * kW - 1 of one sub-quantizer (row q, codebook
// bt transposed, init row in or null): four registers, accumulated over the
// dsub rows of bt, then init added.
template <class Simd>
inline void ScoreFour(const float* q, const float* bt, size_t dsub, size_t ksub,
                      size_t c, float factor, const float* in,
                      typename Simd::Vec* s) {
  constexpr size_t kW = Simd::kW;
  for (int r = 0; r < 4; ++r) s[r] = Simd::Zero();
  for (size_t d = 0; d < dsub; ++d) {
    const typename Simd::Vec w = Simd::Set1(factor * q[d]);
    const float* row = bt + d * ksub + c;
    for (int r = 0; r < 4; ++r)
      s[r] = Simd::Fmadd(w, Simd::Load(row + r * kW), s[r]);
  }
  if (in != nullptr) {
    for (int r = 0; r < 4; ++r)
      s[r] = Simd::Add(s[r], Simd::Load(in + c + r * kW));
  }
}

// Entries c .. c + kW - 1 the same way, in one register, reading only the
// lanes in m; the other lanes hold garbage.
template <class Simd>
inline typename Simd::Vec ScoreTail(const float* q, const float* bt,
                                    size_t dsub, size_t ksub, size_t c,
                                    typename Simd::Mask m, float factor,
                                    const float* in) {
  typename Simd::Vec s = Simd::Zero();
  for (size_t d = 0; d < dsub; ++d) {
    s = Simd::Fmadd(Simd::Set1(factor * q[d]),
                    Simd::MaskLoad(bt + d * ksub + c, m), s);
  }
  if (in != nullptr) s = Simd::Add(s, Simd::MaskLoad(in + c, m));
  return s;
}

template <class Simd>
void InnerProductTables(const float* q, const float* books_t, size_t m,
                        size_t dsub, size_t ksub, float factor,
                        const float* init, float* out) {
  constexpr size_t kW = Simd::kW;
  for (size_t j = 0; j < m; ++j) {
    const float* qj = q + j * dsub;
    const float* bt = books_t + j * dsub * ksub;
    float* o = out + j * ksub;
    const float* in = init != nullptr ? init + j * ksub : nullptr;
    size_t c = 0;
    for (; c + 4 * kW <= ksub; c += 4 * kW) {
      typename Simd::Vec s[4];
      ScoreFour<Simd>(qj, bt, dsub, ksub, c, factor, in, s);
      for (int r = 0; r < 4; ++r) Simd::Store(o + c + r * kW, s[r]);
    }
    for (; c < ksub; c += kW) {
      const auto live = Simd::FirstLanes(ksub - c < kW ? ksub - c : kW);
      Simd::MaskStore(o + c, live,
                      ScoreTail<Simd>(qj, bt, dsub, ksub, c, live, factor, in));
    }
  }
}

// The scores InnerProductTables would write, tracked instead of stored.
template <class Simd>
void NearestCodewords(const float* x, size_t n, size_t x_stride,
                      const float* books_t, size_t dsub, size_t ksub,
                      float factor, const float* init, int32_t* out,
                      float* best) {
  constexpr size_t kW = Simd::kW;
  for (size_t i = 0; i < n; ++i) {
    const float* q = x + i * x_stride;
    typename Simd::Vec vmin = Simd::Set1(__builtin_inff());
    typename Simd::Index vidx = Simd::ZeroIndex();
    size_t c = 0;
    for (; c + 4 * kW <= ksub; c += 4 * kW) {
      typename Simd::Vec s[4];
      ScoreFour<Simd>(q, books_t, dsub, ksub, c, factor, init, s);
      for (int r = 0; r < 4; ++r) Simd::TrackMin(s[r], c + r * kW, vmin, vidx);
    }
    for (; c < ksub; c += kW) {
      const auto live = Simd::FirstLanes(ksub - c < kW ? ksub - c : kW);
      const typename Simd::Vec s =
          ScoreTail<Simd>(q, books_t, dsub, ksub, c, live, factor, init);
      Simd::TrackMin(Simd::InfOutside(live, s), c, vmin, vidx);
    }
    Simd::FirstMin(vmin, vidx, &out[i], &best[i]);
  }
}

}  // namespace
}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_X86_PQ_TABLES_H_
