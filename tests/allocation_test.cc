// The allocation helper: a failed allocation comes back as ResourceExhausted
// naming what was being done, and the object it grew is as it was.
#include "core/allocation.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"

namespace vindex::internal {
namespace {

using absl::StatusCode;

TEST(AllocationTest, ThrownBadAllocIsResourceExhaustedNamingWhat) {
  const absl::Status s =
      TryAllocate("growing the test", [] { throw std::bad_alloc(); });
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(s.message(), "out of memory growing the test");
}

TEST(AllocationTest, SubjectIsAppendedToTheMessage) {
  const absl::Status s =
      TryAllocate("loading", "/some/file", [] { throw std::bad_alloc(); });
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(s.message(), "out of memory loading /some/file");
}

TEST(AllocationTest, StatusOfTheBodyIsReturned) {
  EXPECT_TRUE(TryAllocate("x", [] {}).ok());
  const absl::Status s =
      TryAllocate("x", [] { return absl::InvalidArgumentError("bad"); });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "bad");
}

TEST(AllocationTest, OtherExceptionsPassThrough) {
  EXPECT_THROW(
      (void)TryAllocate("x", [] { throw std::runtime_error("not memory"); }),
      std::runtime_error);
}

TEST(AllocationTest, ImpossibleSizeLeavesTheVectorAsItWas) {
  std::vector<int64_t> v = {1, 2, 3};
  const size_t too_many = v.max_size() + 1;  // length_error, never allocated
  absl::Status s = TryResize(v, too_many, "resizing");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
  s = TryReserve(v, too_many, "reserving");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(v, (std::vector<int64_t>{1, 2, 3}));
  ASSERT_TRUE(TryResize(v, 5, "resizing").ok());
  EXPECT_EQ(v, (std::vector<int64_t>{1, 2, 3, 0, 0}));
  ASSERT_TRUE(TryReserve(v, 100, "reserving").ok());
  EXPECT_GE(v.capacity(), 100u);
}

// Allocations FailingAllocator still grants (this test's thread only).
int allocations_left = 1 << 30;

// An allocator that throws std::bad_alloc once allocations_left runs out.
template <typename T>
struct FailingAllocator {
  using value_type = T;
  FailingAllocator() = default;
  template <typename U>
  FailingAllocator(const FailingAllocator<U>&) {}
  T* allocate(size_t n) {
    if (allocations_left-- <= 0) throw std::bad_alloc();
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) { std::allocator<T>().deallocate(p, n); }
  template <typename U>
  bool operator==(const FailingAllocator<U>&) const {
    return true;
  }
};

TEST(AllocationTest, FailedTableReserveLeavesTheTableAsItWas) {
  using Map =
      absl::flat_hash_map<int64_t, int64_t, absl::Hash<int64_t>,
                          std::equal_to<int64_t>,
                          FailingAllocator<std::pair<const int64_t, int64_t>>>;
  Map map;
  for (int64_t i = 0; i < 100; ++i) map.emplace(i, 10 * i);
  const size_t capacity = map.capacity();

  allocations_left = 0;
  const absl::Status s = TryReserveTable(map, 100000, "growing the map");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(s.message(), "out of memory growing the map");
  EXPECT_EQ(map.capacity(), capacity);
  ASSERT_EQ(map.size(), 100u);
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(map.at(i), 10 * i);

  allocations_left = 1 << 30;
  ASSERT_TRUE(TryReserveTable(map, 100000, "growing the map").ok());
  EXPECT_GE(map.capacity() * 7, size_t{100000} * 8 - 8);
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(map.at(i), 10 * i);
}

TEST(AllocationTest, TableBucketsForHoldsNWithoutGrowing) {
  for (size_t n : {0u, 1u, 7u, 8u, 1000u, 12345u}) {
    absl::flat_hash_map<int64_t, int64_t> map(TableBucketsFor(n));
    const size_t capacity = map.capacity();
    for (size_t i = 0; i < n; ++i) map.emplace(static_cast<int64_t>(i), 0);
    EXPECT_EQ(map.capacity(), capacity) << n;
  }
}

}  // namespace
}  // namespace vindex::internal
