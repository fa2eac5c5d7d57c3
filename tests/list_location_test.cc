// ListLocation: the packed (list, offset) form that IVF's id map and IVF-PQ's
// re-rank keys hold.

#include "core/list_location.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace vindex::internal {
namespace {

TEST(ListLocationTest, PacksListHighAndOffsetLow) {
  EXPECT_EQ(ListLocation::At(0, 0).Pack(), uint64_t{0});
  EXPECT_EQ(ListLocation::At(3, 5).Pack(), (uint64_t{3} << 32) | 5);
  EXPECT_EQ(ListLocation::At(1, 0xffffffff).Pack(),
            (uint64_t{1} << 32) | 0xffffffffu);
}

TEST(ListLocationTest, UnpackInvertsPack) {
  for (uint32_t list : {0u, 1u, 7u, (1u << 30) - 1, 1u << 30}) {
    for (uint32_t offset : {0u, 1u, 12345u, 0x7fffffffu, 0xffffffffu}) {
      const ListLocation at = ListLocation::Unpack(
          ListLocation{.list = list, .offset = offset}.Pack());
      EXPECT_EQ(at.list, list);
      EXPECT_EQ(at.offset, offset);
    }
  }
}

TEST(ListLocationTest, PackedKeysOrderByListThenOffset) {
  EXPECT_LT(ListLocation::At(0, 0xffffffff).Pack(),
            ListLocation::At(1, 0).Pack());
  EXPECT_LT(ListLocation::At(2, 3).Pack(), ListLocation::At(2, 4).Pack());
}

TEST(ListLocationTest, PackedKeyOfAnyValidListIsNonNegativeAsInt64) {
  // nlist <= 2^30, so a packed key never collides with the -1 of a missing
  // result when read as a signed id.
  const int64_t key =
      static_cast<int64_t>(ListLocation::At(1 << 30, 0xffffffff).Pack());
  EXPECT_GT(key, 0);
}

static_assert(ListLocation::Unpack(ListLocation::At(9, 4).Pack()).offset == 4,
              "Pack and Unpack are constexpr");

}  // namespace
}  // namespace vindex::internal
