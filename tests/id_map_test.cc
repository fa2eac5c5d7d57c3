// The id -> position maps: lookups, updates and erasure, growth that fails
// without changing the map, and the table sizes that memory reports count.
#include "core/id_map.h"

#include <cstdint>
#include <map>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"

namespace vindex::internal {
namespace {

TEST(IdMapTest, InsertFindUpdateErase) {
  IdMap<int64_t> map;
  EXPECT_TRUE(map.Insert(7, 0));
  EXPECT_TRUE(map.Insert(-3, 1));
  EXPECT_FALSE(map.Insert(7, 5));  // present: no change
  ASSERT_NE(map.Find(7), nullptr);
  EXPECT_EQ(*map.Find(7), 0);
  EXPECT_EQ(map.Find(8), nullptr);
  map.Update(-3, 9);
  EXPECT_EQ(*map.Find(-3), 9);
  map.Erase(7);
  EXPECT_FALSE(map.Contains(7));
  EXPECT_TRUE(map.Contains(-3));
  EXPECT_EQ(map.size(), 1u);
}

TEST(IdMapTest, SizedForTakesNIdsWithoutGrowing) {
  IdMap<uint64_t> map = IdMap<uint64_t>::SizedFor(1000);
  const size_t bytes = map.bytes();
  EXPECT_GT(bytes, 0u);
  for (int64_t id = 0; id < 1000; ++id) ASSERT_TRUE(map.Insert(id, id * 3));
  EXPECT_EQ(map.bytes(), bytes);
  EXPECT_EQ(*map.Find(999), 2997u);
}

TEST(IdMapTest, BytesCountIdValueAndControlBytePerBucket) {
  IdMap<int64_t> map;
  ASSERT_TRUE(map.TryReserve(100, "growing").ok());
  const size_t buckets = map.bytes() / (2 * sizeof(int64_t) + 1);
  EXPECT_GE(buckets, 100u);
  EXPECT_EQ(map.bytes(), buckets * (2 * sizeof(int64_t) + 1));
}

TEST(IdMapTest, TryReserveKeepsContentsAndRoom) {
  IdMap<int64_t> map;
  for (int64_t id = 0; id < 50; ++id) ASSERT_TRUE(map.Insert(id, -id));
  ASSERT_TRUE(map.TryReserve(5000, "growing").ok());
  const size_t bytes = map.bytes();
  for (int64_t id = 50; id < 5000; ++id) ASSERT_TRUE(map.Insert(id, -id));
  EXPECT_EQ(map.bytes(), bytes);
  for (int64_t id = 0; id < 5000; ++id) ASSERT_EQ(*map.Find(id), -id);
}

TEST(IdMapTest, ForEachVisitsEveryPairOnce) {
  IdMap<uint64_t> map;
  for (int64_t id = -20; id < 20; ++id) ASSERT_TRUE(map.Insert(id, id + 100));
  map.Erase(5);
  std::map<int64_t, uint64_t> seen;
  map.ForEach([&](int64_t id, uint64_t value) {
    EXPECT_TRUE(seen.emplace(id, value).second) << "id " << id << " twice";
  });
  ASSERT_EQ(seen.size(), 39u);
  EXPECT_EQ(seen.count(5), 0u);
  for (const auto& [id, value] : seen) EXPECT_EQ(value, uint64_t(id + 100));
}

TEST(IdMapTest, ClearRemovesEveryId) {
  IdMap<int64_t> map;
  for (int64_t id = 0; id < 300; ++id) ASSERT_TRUE(map.Insert(id, id));
  map.Clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_FALSE(map.Contains(0));
  int visited = 0;
  map.ForEach([&](int64_t, int64_t) { ++visited; });
  EXPECT_EQ(visited, 0);
  EXPECT_TRUE(map.Insert(0, 1));
}

#if !defined(VINDEX_TEST_SANITIZER_ALLOCATOR)
// A table no machine can hold: ResourceExhausted, and the map as it was.
TEST(IdMapTest, FailedReserveLeavesTheMapAsItWas) {
  IdMap<int64_t> map;
  for (int64_t id = 0; id < 10; ++id) ASSERT_TRUE(map.Insert(id, id));
  const size_t bytes = map.bytes();
  const absl::Status s = map.TryReserve(size_t{1} << 44, "growing the map");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(s.message(), "out of memory growing the map");
  EXPECT_EQ(map.bytes(), bytes);
  for (int64_t id = 0; id < 10; ++id) ASSERT_EQ(*map.Find(id), id);
  EXPECT_TRUE(map.Insert(10, 10));
}

TEST(IdSlotMapTest, FailedReserveLeavesTheMapAsItWas) {
  std::vector<int64_t> ids = {40, 41, 42};
  IdSlotMap map(&ids);
  for (uint32_t slot = 0; slot < 3; ++slot) ASSERT_TRUE(map.Insert(slot));
  const absl::Status s = map.TryReserve(size_t{1} << 44, "growing the map");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(map.Find(41), 1u);
  EXPECT_EQ(map.size(), 3u);
}
#endif

TEST(IdSlotMapTest, StoresOnlySlotsAndReadsIdsFromTheOwner) {
  std::vector<int64_t> ids = {100, 200, 300};
  IdSlotMap map(&ids);
  for (uint32_t slot = 0; slot < 3; ++slot) ASSERT_TRUE(map.Insert(slot));
  EXPECT_EQ(map.Find(200), 1u);
  EXPECT_EQ(map.Find(201), IdSlotMap::kNotFound);
  // The owner's array may reallocate: the map reads it through the pointer.
  ids.reserve(1000);
  ids.push_back(400);
  ASSERT_TRUE(map.Insert(3));
  EXPECT_FALSE(map.Insert(3));
  EXPECT_EQ(map.Find(400), 3u);
  map.Erase(100);
  EXPECT_FALSE(map.Contains(100));
  // 4 bytes of slot and one control byte per bucket.
  EXPECT_EQ(map.bytes() % (sizeof(uint32_t) + 1), 0u);
  ASSERT_TRUE(map.TryReserve(64, "growing").ok());
  EXPECT_GE(map.bytes() / (sizeof(uint32_t) + 1), 64u);
}

// The same checks and messages over either map.
TEST(IdMapTest, IdChecksNameTheFirstOffendingId) {
  IdMap<int64_t> map;
  std::vector<int64_t> owner_ids = {1, 2, 3};
  IdSlotMap slots(&owner_ids);
  for (int64_t r = 0; r < 3; ++r) {
    ASSERT_TRUE(map.Insert(owner_ids[r], r));
    ASSERT_TRUE(slots.Insert(static_cast<uint32_t>(r)));
  }
  const std::vector<int64_t> fresh = {4, 5}, clash = {4, 2};
  const std::vector<int64_t> held = {3, 1}, missing = {3, 9};
  EXPECT_TRUE(CheckIdsAbsent(map, fresh).ok());
  EXPECT_TRUE(CheckIdsAbsent(slots, fresh).ok());
  EXPECT_TRUE(CheckIdsPresent(map, held).ok());
  EXPECT_TRUE(CheckIdsPresent(slots, held).ok());
  for (const absl::Status& s :
       {CheckIdsAbsent(map, clash), CheckIdsAbsent(slots, clash)}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), "id 2 is already in the index");
  }
  for (const absl::Status& s :
       {CheckIdsPresent(map, missing), CheckIdsPresent(slots, missing)}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(s.message(), "id 9 is not in the index");
  }
}

}  // namespace
}  // namespace vindex::internal
