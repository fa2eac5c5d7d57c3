// The neighbour-selection test of an HNSW build: when a neighbour already
// kept makes a candidate redundant.
#ifndef VINDEX_SRC_INDEX_HNSW_DIVERSITY_H_
#define VINDEX_SRC_INDEX_HNSW_DIVERSITY_H_

#include "vindex/options.h"

namespace vindex::hnsw {

// Whether a kept neighbour at internal score `to_kept` from a candidate
// dominates that candidate, at internal score `to_base` from the node whose
// list is chosen, for a relaxation `alpha` >= 1 (internal scores as in
// core/metric_space.h). L2 scales squared distances; cosine those of its
// unit vectors, 2 + 2 * score. An inner product is no distance, so it is
// never relaxed. With alpha 1 every metric compares the scores themselves.
inline bool Dominates(Metric metric, float alpha, float to_kept,
                      float to_base) {
  if (alpha == 1.0f || metric == Metric::kInnerProduct) {
    return to_kept < to_base;
  }
  if (metric == Metric::kCosine) {
    return alpha * (2.0f + 2.0f * to_kept) < 2.0f + 2.0f * to_base;
  }
  return alpha * to_kept < to_base;
}

}  // namespace vindex::hnsw

#endif  // VINDEX_SRC_INDEX_HNSW_DIVERSITY_H_
