// HNSW's filter planner (walk or exact scan of the allowed rows) and the scan.
#include "index/hnsw/filter_plan.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/id_map.h"
#include "core/prefetch.h"
#include "core/topk.h"
#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/storage.h"

namespace vindex {

void HnswIndex::ScanAllowed(const float* query, int k,
                            const std::vector<uint32_t>& slots,
                            int64_t* out_ids, float* out_d) const {
  internal::TopK top(k);
  const size_t n = slots.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + 2 < n)
      internal::PrefetchRange(
          reinterpret_cast<const char*>(FullVector(slots[i + 2])),
          dim_ * sizeof(float));
    top.Push(Distance(query, FullVector(slots[i])), ids_[slots[i]]);
  }
  top.Finish(out_ids, out_d);
}

double HnswIndex::ScanLimit(int64_t n, int ef) {
  return 168.0 * std::cbrt(static_cast<double>(n)) * std::sqrt(ef / 32.0);
}

HnswIndex::FilterPlan HnswIndex::PlanFilter(const IdFilter& filter,
                                            uint32_t snapshot, int ef) const {
  FilterPlan plan;
  const double limit = brute_force_fraction_ >= 0
                           ? brute_force_fraction_ * static_cast<double>(live_)
                           : ScanLimit(live_, ef);
  const auto visible = [&](uint32_t slot) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return epochs_[slot] <= snapshot;
  };
  // Collects the allowed slots, giving up (to walk the graph lazily) as soon
  // as there are more than `limit` of them.
  const auto collect = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (uint32_t x = 0; x < num_slots_; ++x) {
      if (visible(x) && filter.Allows(ids_[x])) {
        plan.slots.push_back(x);
        if (static_cast<double>(plan.slots.size()) > limit) break;
      }
    }
    plan.scan = static_cast<double>(plan.slots.size()) <= limit;
    if (!plan.scan) {
      plan.slots.clear();
      plan.lazy = &filter;
    }
  };
  switch (filter.kind()) {
    case IdFilter::Kind::kAllowList:
      if (static_cast<double>(filter.listed_ids().size()) <= limit) {
        for (int64_t id : filter.listed_ids()) {
          const uint32_t slot = row_of_.Find(id);
          if (slot != internal::IdSlotMap::kNotFound && visible(slot)) {
            plan.slots.push_back(slot);
          }
        }
        plan.scan = true;
        return plan;
      }
      break;
    case IdFilter::Kind::kDenyList:
      if (static_cast<double>(live_) -
              static_cast<double>(filter.listed_ids().size()) <=
          limit) {
        collect();
        return plan;
      }
      break;
    case IdFilter::Kind::kRange:
    case IdFilter::Kind::kPredicate: {
      // Estimate the allowed fraction from a pseudo-random sample of slots;
      // count exactly only when it may be under the switch point.
      int seen = 0, allowed = 0;
      uint64_t h = 0x9E3779B97F4A7C15ull;
      for (int i = 0; i < 512; ++i) {
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        const uint32_t x = static_cast<uint32_t>((h >> 33) % num_slots_);
        if (!visible(x)) continue;
        ++seen;
        allowed += filter.Allows(ids_[x]) ? 1 : 0;
      }
      if (seen == 0 || allowed <= 1.5 * limit / live_ * seen + 2) {
        collect();
        return plan;
      }
      break;
    }
  }
  plan.lazy = &filter;
  return plan;
}

}  // namespace vindex
