#include "core/row_mask.h"

#include <bit>

namespace vindex::internal {

int64_t RowMask::Count() const {
  int64_t c = 0;
  for (uint64_t w : words_) c += std::popcount(w);
  return c;
}

RowMask BuildRowMask(const IdFilter& filter, absl::Span<const int64_t> row_ids,
                     const absl::flat_hash_map<int64_t, int64_t>& row_of) {
  const int64_t n = static_cast<int64_t>(row_ids.size());
  switch (filter.kind()) {
    case IdFilter::Kind::kAllowList: {
      RowMask mask(n, false);
      for (int64_t id : filter.listed_ids()) {
        auto it = row_of.find(id);
        if (it != row_of.end() && it->second < n) mask.Set(it->second);
      }
      return mask;
    }
    case IdFilter::Kind::kDenyList: {
      RowMask mask(n, false);
      for (int64_t r = 0; r < n; ++r) {
        if (row_ids[r] != -1) mask.Set(r);
      }
      for (int64_t id : filter.listed_ids()) {
        auto it = row_of.find(id);
        if (it != row_of.end() && it->second < n) mask.Clear(it->second);
      }
      return mask;
    }
    case IdFilter::Kind::kRange:
    case IdFilter::Kind::kPredicate: {
      RowMask mask(n, false);
      for (int64_t r = 0; r < n; ++r) {
        if (row_ids[r] != -1 && filter.Allows(row_ids[r])) mask.Set(r);
      }
      return mask;
    }
  }
  return RowMask(n, false);
}

}  // namespace vindex::internal
