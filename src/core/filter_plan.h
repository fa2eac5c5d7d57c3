#ifndef VINDEX_SRC_CORE_FILTER_PLAN_H_
#define VINDEX_SRC_CORE_FILTER_PLAN_H_

// How a search applies an IdFilter: which route finds the allowed rows, and
// the conversion of the filter into a RowMask over an index's rows.

#include <cstdint>

#include "absl/types/span.h"
#include "core/id_map.h"
#include "core/row_mask.h"
#include "vindex/filter.h"

namespace vindex::internal {

// The route from a filter to the rows it allows.
enum class FilterRoute {
  // Allow- and deny-lists name their ids: each is looked up in the index's
  // id map, so the cost follows the list's size, not the index's.
  kLookUpListedIds,
  // Ranges and predicates can only be asked: each stored id is tested.
  kTestEveryId,
};

inline FilterRoute RouteOf(const IdFilter& filter) {
  switch (filter.kind()) {
    case IdFilter::Kind::kAllowList:
    case IdFilter::Kind::kDenyList:
      return FilterRoute::kLookUpListedIds;
    case IdFilter::Kind::kRange:
    case IdFilter::Kind::kPredicate:
      break;
  }
  return FilterRoute::kTestEveryId;
}

// The mask over `rows` rows of what `filter` allows.
//  find_row(id): the row holding id, or a value outside [0, rows) if none;
//  for_each_row(visit): calls visit(row, id) for every row that holds an id
//  (free rows are skipped, so they are never set).
// May throw std::bad_alloc (run it inside GuardedCall or TryAllocate).
template <typename FindRow, typename ForEachRow>
RowMask BuildRowMask(const IdFilter& filter, int64_t rows, FindRow&& find_row,
                     ForEachRow&& for_each_row) {
  RowMask mask(rows, false);
  const auto listed_row = [&](int64_t id) -> int64_t {
    const int64_t r = find_row(id);
    return r >= 0 && r < rows ? r : -1;
  };
  if (RouteOf(filter) == FilterRoute::kTestEveryId) {
    for_each_row([&](int64_t r, int64_t id) {
      if (filter.Allows(id)) mask.Set(r);
    });
  } else if (filter.kind() == IdFilter::Kind::kAllowList) {
    for (int64_t id : filter.listed_ids()) {
      if (const int64_t r = listed_row(id); r >= 0) mask.Set(r);
    }
  } else {
    for_each_row([&](int64_t r, int64_t) { mask.Set(r); });
    for (int64_t id : filter.listed_ids()) {
      if (const int64_t r = listed_row(id); r >= 0) mask.Clear(r);
    }
  }
  return mask;
}

// The mask for rows whose caller ids are row_ids[r] (-1 marks a free row),
// with row_of mapping an id to its row.
inline RowMask BuildRowMask(const IdFilter& filter,
                            absl::Span<const int64_t> row_ids,
                            const IdMap<int64_t>& row_of) {
  const int64_t n = static_cast<int64_t>(row_ids.size());
  return BuildRowMask(
      filter, n,
      [&](int64_t id) -> int64_t {
        const int64_t* row = row_of.Find(id);
        return row == nullptr ? -1 : *row;
      },
      [&](auto&& visit) {
        for (int64_t r = 0; r < n; ++r) {
          if (row_ids[r] != -1) visit(r, row_ids[r]);
        }
      });
}

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_FILTER_PLAN_H_
