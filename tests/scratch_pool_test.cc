// ScratchPool: pooled scratch is reused, and buffers one huge query grew are
// freed when the scratch returns to the pool instead of being kept for good.
#include "core/scratch_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/topk.h"

namespace vindex::internal {
namespace {

struct GrowingScratch {
  std::vector<float> small;
  std::vector<int64_t> large;
  void Trim() {
    ReleaseIfAbove(small);
    ReleaseIfAbove(large);
  }
};

TEST(ScratchPoolTest, OversizedBuffersAreFreedOnReturn) {
  ScratchPool<GrowingScratch> pool;
  const GrowingScratch* first = nullptr;
  {
    auto s = pool.Acquire();
    first = s.get();
    s->small.resize(1000);
    s->large.resize(kMaxPooledBufferBytes / sizeof(int64_t) + 1);
  }
  auto again = pool.Acquire();
  ASSERT_EQ(again.get(), first);              // The pooled object is reused...
  EXPECT_GE(again->small.capacity(), 1000u);  // ...small buffers kept,
  EXPECT_EQ(again->large.capacity(), 0u);     // the oversized one freed.
}

TEST(ScratchPoolTest, TopKReleasesLargeBuffersAndStillWorks) {
  TopK top(200000);
  for (int i = 0; i < 300000; ++i) top.Push(static_cast<float>(i % 977), i);
  top.ReleaseIfAbove(kMaxPooledBufferBytes);
  top.Reset(3);
  for (int i = 0; i < 10; ++i) top.Push(static_cast<float>(10 - i), i);
  std::vector<int64_t> ids(3);
  std::vector<float> dist(3);
  top.Finish(ids.data(), dist.data());
  EXPECT_EQ(ids, (std::vector<int64_t>{9, 8, 7}));
}

}  // namespace
}  // namespace vindex::internal
