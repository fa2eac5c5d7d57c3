#include "core/row_mask.h"

#include <bit>

namespace vindex::internal {

int64_t RowMask::Count() const {
  int64_t c = 0;
  for (uint64_t w : words_) c += std::popcount(w);
  return c;
}

RowMask BuildRowMask(const IdFilter& filter, absl::Span<const int64_t> row_ids,
                     const IdMap<int64_t>& row_of) {
  const int64_t n = static_cast<int64_t>(row_ids.size());
  switch (filter.kind()) {
    case IdFilter::Kind::kAllowList: {
      RowMask mask(n, false);
      for (int64_t id : filter.listed_ids()) {
        const int64_t* row = row_of.Find(id);
        if (row != nullptr && *row < n) mask.Set(*row);
      }
      return mask;
    }
    case IdFilter::Kind::kDenyList: {
      RowMask mask(n, false);
      for (int64_t r = 0; r < n; ++r) {
        if (row_ids[r] != -1) mask.Set(r);
      }
      for (int64_t id : filter.listed_ids()) {
        const int64_t* row = row_of.Find(id);
        if (row != nullptr && *row < n) mask.Clear(*row);
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
