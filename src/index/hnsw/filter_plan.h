// HNSW's filter strategy: a filtered Search either walks the graph asking the
// filter lazily or, when few rows are allowed, scans those rows exactly.
#ifndef VINDEX_SRC_INDEX_HNSW_FILTER_PLAN_H_
#define VINDEX_SRC_INDEX_HNSW_FILTER_PLAN_H_

#include <cstdint>
#include <vector>

#include "index/hnsw/hnsw_index.h"
#include "vindex/filter.h"

namespace vindex {

// How one Search call applies its filter: walk the graph asking the filter
// lazily, or scan the allowed slots exhaustively.
struct HnswIndex::FilterPlan {
  const IdFilter* lazy = nullptr;
  bool scan = false;
  std::vector<uint32_t> slots;  // Allowed visible slots when scanning.
};

}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_HNSW_FILTER_PLAN_H_
