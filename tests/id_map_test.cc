// The id -> position maps: lookups, updates and erasure, growth that fails
// without changing the map, and the table sizes that memory reports count.
#include "core/id_map.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

// Sanitizer allocators report a failed operator new instead of throwing.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VINDEX_TEST_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VINDEX_TEST_SANITIZER_ALLOCATOR 1
#endif
#endif

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

}  // namespace
}  // namespace vindex::internal
