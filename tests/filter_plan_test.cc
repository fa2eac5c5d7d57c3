// The filter plan: each filter kind takes its route and becomes the mask of
// exactly the rows whose ids it allows; free rows and ids the index does not
// hold are never set.
#include "core/filter_plan.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "vindex/filter.h"

namespace vindex::internal {
namespace {

// Rows 0..9 hold ids 100..109, except row 4, which is free (-1).
struct Rows {
  std::vector<int64_t> ids;
  IdMap<int64_t> row_of;
  Rows() {
    for (int64_t r = 0; r < 10; ++r) {
      ids.push_back(r == 4 ? -1 : 100 + r);
      if (ids.back() != -1) row_of.Insert(ids.back(), r);
    }
  }
};

std::vector<int64_t> SetRows(const RowMask& mask) {
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < mask.rows(); ++r) {
    if (mask.Test(r)) rows.push_back(r);
  }
  return rows;
}

TEST(FilterPlanTest, RouteFollowsTheKind) {
  EXPECT_EQ(RouteOf(IdFilter::AllowList({1})), FilterRoute::kLookUpListedIds);
  EXPECT_EQ(RouteOf(IdFilter::DenyList({1})), FilterRoute::kLookUpListedIds);
  EXPECT_EQ(RouteOf(IdFilter::Range(0, 5)), FilterRoute::kTestEveryId);
  EXPECT_EQ(RouteOf(IdFilter::Predicate([](int64_t) { return true; })),
            FilterRoute::kTestEveryId);
}

TEST(FilterPlanTest, AllowListSetsOnlyHeldIds) {
  Rows rows;
  // 104 would be row 4, which is free; 555 is not held.
  const RowMask mask = BuildRowMask(IdFilter::AllowList({101, 104, 109, 555}),
                                    rows.ids, rows.row_of);
  EXPECT_EQ(mask.rows(), 10);
  EXPECT_EQ(SetRows(mask), (std::vector<int64_t>{1, 9}));
}

TEST(FilterPlanTest, DenyListClearsListedAndFreeRows) {
  Rows rows;
  const RowMask mask =
      BuildRowMask(IdFilter::DenyList({100, 107, 555}), rows.ids, rows.row_of);
  EXPECT_EQ(SetRows(mask), (std::vector<int64_t>{1, 2, 3, 5, 6, 8, 9}));
}

TEST(FilterPlanTest, RangeAndPredicateTestEveryHeldId) {
  Rows rows;
  EXPECT_EQ(
      SetRows(BuildRowMask(IdFilter::Range(103, 107), rows.ids, rows.row_of)),
      (std::vector<int64_t>{3, 5, 6}));
  int calls = 0;
  const RowMask odd = BuildRowMask(IdFilter::Predicate([&](int64_t id) {
                                     ++calls;
                                     return id % 2 == 1;
                                   }),
                                   rows.ids, rows.row_of);
  EXPECT_EQ(SetRows(odd), (std::vector<int64_t>{1, 3, 5, 7, 9}));
  EXPECT_EQ(calls, 9);  // never asked about the free row
}

// The general form over positions an index lays out itself (here two lists
// of ids placed one after the other), with rows the id lookup reports that
// lie outside the mask ignored.
TEST(FilterPlanTest, GeneralFormOverCallerLaidOutRows) {
  const std::vector<std::vector<int64_t>> lists = {{5, 6}, {7, 8, 9}};
  const auto find_row = [&](int64_t id) -> int64_t {
    if (id == 42) return 99;  // a stale position beyond the mask
    int64_t base = 0;
    for (const auto& list : lists) {
      for (size_t i = 0; i < list.size(); ++i) {
        if (list[i] == id) return base + static_cast<int64_t>(i);
      }
      base += static_cast<int64_t>(list.size());
    }
    return -1;
  };
  const auto for_each_row = [&](auto&& visit) {
    int64_t base = 0;
    for (const auto& list : lists) {
      for (size_t i = 0; i < list.size(); ++i) visit(base + i, list[i]);
      base += static_cast<int64_t>(list.size());
    }
  };
  EXPECT_EQ(SetRows(BuildRowMask(IdFilter::AllowList({6, 9, 42}), 5, find_row,
                                 for_each_row)),
            (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(SetRows(BuildRowMask(IdFilter::DenyList({7, 42}), 5, find_row,
                                 for_each_row)),
            (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(
      SetRows(BuildRowMask(IdFilter::Range(6, 9), 5, find_row, for_each_row)),
      (std::vector<int64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace vindex::internal
