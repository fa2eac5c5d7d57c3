// Screening inner-product scores with the squared-L2 early exit.
//
// |q - x|^2 = |q|^2 + |x|^2 - 2 <q, x>, so once a row's partial squared L2
// passes |q|^2 + max |x|^2 + 2 * s, its score -<q, x> cannot be below s.
// Rows of bounded norm (cosine's unit rows, spherical centroids) can then
// stop after their leading dimensions as L2 rows do; a row the screen passes
// is scored by the inner-product kernel, so results are those of the
// unscreened scan.
#ifndef VINDEX_SRC_INDEX_IP_SCREEN_H_
#define VINDEX_SRC_INDEX_IP_SCREEN_H_

#include <algorithm>
#include <cstddef>
#include <limits>

#include "kernels/kernels.h"

namespace vindex::internal {

// The squared-L2 bound under which every d-dim row of squared norm at most
// max_row_sq_norm whose score may be below score_bound stays, with room for
// the rounding of the norms and of both kernels (docs/decisions.md). +inf
// when score_bound is not finite.
inline float InnerProductScreenBound(float score_bound, float q_sq_norm,
                                     float max_row_sq_norm, size_t d) {
  if (!(score_bound < std::numeric_limits<float>::infinity())) {
    return std::numeric_limits<float>::infinity();
  }
  const float scale = q_sq_norm + max_row_sq_norm;
  const float slack = 16.0f * static_cast<float>(d + 4) *
                      std::numeric_limits<float>::epsilon() * scale;
  return scale + 2.0f * score_bound + slack;
}

// Writes -<q, row i> for each of n rows (stride floats apart) whose partial
// squared L2 stays under l2_bound, +inf for the others. The scores are
// inner_product_rows' over the n rows, bit for bit: the rows that pass are
// scored in that kernel's groups of four. `heads`: as for
// l2_sqr_rows_bounded.
inline void ScreenedNegativeInnerProducts(const kernels::KernelTable& kt,
                                          const float* q, const float* rows,
                                          size_t n, size_t d, size_t stride,
                                          float l2_bound, float* out,
                                          const kernels::CodedHeads* heads) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (!(l2_bound < kInf)) {
    // Nothing can be screened out yet.
    kt.inner_product_rows(q, rows, n, d, stride, out);
    for (size_t i = 0; i < n; ++i) out[i] = -out[i];
    return;
  }
  kt.l2_sqr_rows_bounded(q, rows, n, d, stride, l2_bound, out, heads);
  for (size_t g = 0; g < n; g += kernels::kRowsGroup) {
    const size_t m = std::min(kernels::kRowsGroup, n - g);
    bool any = false;
    for (size_t j = 0; j < m; ++j) any |= out[g + j] <= l2_bound;
    float ip[kernels::kRowsGroup];
    if (any) kt.inner_product_rows(q, rows + g * stride, m, d, stride, ip);
    for (size_t j = 0; j < m; ++j) {
      out[g + j] = out[g + j] <= l2_bound ? -ip[j] : kInf;
    }
  }
}

}  // namespace vindex::internal

#endif  // VINDEX_SRC_INDEX_IP_SCREEN_H_
