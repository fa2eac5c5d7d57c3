// The graph walk shared by build, search and repair: greedy descent through
// the upper levels, then one best-first search of a single level.
#ifndef VINDEX_SRC_INDEX_HNSW_SEARCH_LAYER_H_
#define VINDEX_SRC_INDEX_HNSW_SEARCH_LAYER_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/prefetch.h"
#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/scratch.h"
#include "index/hnsw/storage.h"
#include "vindex/filter.h"

namespace vindex {

struct HnswIndex::AdmitAll {
  bool operator()(uint32_t) const { return true; }
};

// Visible (published, not free) and, when a filter is given, allowed. The
// filter is asked only about nodes that would enter the results.
struct HnswIndex::AdmitVisible {
  const uint32_t* epochs;
  uint32_t snapshot;
  const IdFilter* filter;
  const int64_t* ids;
  bool operator()(uint32_t slot) const {
    return epochs[slot] <= snapshot &&
           (filter == nullptr || filter->Allows(ids[slot]));
  }
};

template <typename Space>
uint32_t HnswIndex::GreedyDescend(const Space& space, uint32_t ep, float* d_ep,
                                  int from_level, int to_level) const {
  float best = *d_ep;
  const size_t bytes = space.prefetch_bytes();
  for (int level = from_level; level > to_level; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const uint32_t* list = Links(ep, level);
      const uint32_t n = std::min<uint32_t>(hnsw::LoadLink(list), m_);
      for (uint32_t i = 0; i < n; ++i)
        internal::PrefetchLine(space.Data(hnsw::LoadLink(list + 1 + i)));
      for (uint32_t i = 0; i < n && i < 2; ++i)
        internal::PrefetchRange(space.Data(hnsw::LoadLink(list + 1 + i)),
                                bytes);
      for (uint32_t i = 0; i < n; ++i) {
        if (i + 2 < n) {
          internal::PrefetchRange(space.Data(hnsw::LoadLink(list + 3 + i)),
                                  bytes);
        }
        const uint32_t x = hnsw::LoadLink(list + 1 + i);
        // Only whether x beats the best matters: a partial sum past it will do.
        const float d = space.DistBelow(x, best);
        if (d < best) {
          best = d;
          ep = x;
          changed = true;
        }
      }
    }
  }
  *d_ep = best;
  return ep;
}

template <typename Space, typename Admit>
void HnswIndex::SearchLayer(const Space& space, uint32_t ep, float d_ep,
                            int level, int ef, const Admit& admit,
                            Scratch& s) const {
  const auto min_first = [](const Candidate& a, const Candidate& b) {
    return a.d > b.d;
  };
  const auto max_first = [](const Candidate& a, const Candidate& b) {
    return a.d < b.d;
  };
  auto& cand = s.candidates;
  auto& res = s.results;
  cand.clear();
  res.clear();
  const uint32_t slots = num_slots_;
  s.visited.Reset(slots);
  s.visited.Mark(ep);
  if (s.batch.size() < static_cast<size_t>(m0_)) s.batch.resize(m0_);
  float bound = std::numeric_limits<float>::infinity();
  cand.push_back({d_ep, ep});
  if (admit(ep)) {
    res.push_back({d_ep, ep});
    if (ef == 1) bound = d_ep;
  }
  const size_t ef_size = static_cast<size_t>(ef);
  const size_t cap = static_cast<size_t>(Capacity(level));
  const size_t bytes = space.prefetch_bytes();
  uint32_t* batch = s.batch.data();
  while (!cand.empty()) {
    const Candidate c = cand.front();
    if (c.d > bound) break;
    std::pop_heap(cand.begin(), cand.end(), min_first);
    cand.pop_back();
    // The next best candidate is usually the next one expanded: fetch its
    // link list while this one's neighbours are scored.
    if (!cand.empty()) {
      internal::PrefetchRange(
          reinterpret_cast<const char*>(Links(cand.front().slot, level)),
          sizeof(uint32_t) * (1 + cap));
    }
    const uint32_t* list = Links(c.slot, level);
    const size_t n = std::min<size_t>(hnsw::LoadLink(list), cap);
    size_t nb = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t x = hnsw::LoadLink(list + 1 + i);
      // Level-0 words of a mapped file may have changed since they were
      // checked: a link out of range is skipped, never followed.
      if (x < slots && !s.visited.TestAndMark(x)) {
        batch[nb++] = x;
        internal::PrefetchLine(space.Data(x));
      }
    }
    for (size_t j = 0; j < nb && j < 2; ++j)
      internal::PrefetchRange(space.Data(batch[j]), bytes);
    for (size_t j = 0; j < nb; ++j) {
      if (j + 2 < nb) internal::PrefetchRange(space.Data(batch[j + 2]), bytes);
      const uint32_t x = batch[j];
      const float d = space.DistBelow(x, bound);
      if (!(d < bound)) continue;
      cand.push_back({d, x});
      std::push_heap(cand.begin(), cand.end(), min_first);
      if (admit(x)) {
        res.push_back({d, x});
        std::push_heap(res.begin(), res.end(), max_first);
        if (res.size() > ef_size) {
          std::pop_heap(res.begin(), res.end(), max_first);
          res.pop_back();
        }
        if (res.size() == ef_size) bound = res.front().d;
      }
    }
  }
}

}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_HNSW_SEARCH_LAYER_H_
