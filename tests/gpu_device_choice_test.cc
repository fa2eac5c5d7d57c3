// Run-time device choice. Runs everywhere: without a GPU (or without CUDA)
// it checks the fallbacks and the errors; with a GPU, that kGpu and kAuto
// give a GPU index.
#include <vector>

#include "gtest/gtest.h"
#include "index/gpu_factory.h"
#include "vindex/index.h"

namespace vindex {
namespace {

TEST(GpuDeviceChoiceTest, DeviceCountIsConsistentWithTheBuild) {
  const int count = CudaDeviceCount();
  EXPECT_GE(count, 0);
  if (!internal::BuiltWithCuda()) EXPECT_EQ(count, 0);
  EXPECT_EQ(CudaDeviceCount(), count);  // Stable across calls.
}

TEST(GpuDeviceChoiceTest, AutoPicksGpuOnlyWhenUsable) {
  auto index = MakeIndex(FlatOptions{.dim = 8, .device = Device::kAuto});
  ASSERT_TRUE(index.ok()) << index.status();
  const Device want = CudaDeviceCount() > 0 ? Device::kGpu : Device::kCpu;
  EXPECT_EQ((*index)->info().device, want);
  // Whichever it is, it works.
  std::vector<float> v(3 * 8, 0.5f);
  v[8] = 1.0f;
  v[16] = -1.0f;
  ASSERT_TRUE((*index)
                  ->Add(MatrixView<const float>(v.data(), 3, 8),
                        std::vector<int64_t>{10, 11, 12})
                  .ok());
  std::vector<int64_t> ids(2);
  std::vector<float> dist(2);
  ASSERT_TRUE((*index)
                  ->Search(MatrixView<const float>(v.data(), 1, 8),
                           SearchParams{.k = 2},
                           SearchOutput{MatrixView<int64_t>(ids.data(), 1, 2),
                                        MatrixView<float>(dist.data(), 1, 2)})
                  .ok());
  EXPECT_EQ(ids[0], 10);
  EXPECT_EQ(dist[0], 0.0f);
}

TEST(GpuDeviceChoiceTest, CpuIsAlwaysCpu) {
  auto index = MakeIndex(FlatOptions{.dim = 8, .device = Device::kCpu});
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->info().device, Device::kCpu);
}

TEST(GpuDeviceChoiceTest, GpuWithoutDeviceIsAClearError) {
  auto index = MakeIndex(FlatOptions{.dim = 8, .device = Device::kGpu});
  if (!internal::BuiltWithCuda()) {
    ASSERT_FALSE(index.ok());
    EXPECT_EQ(index.status().code(), absl::StatusCode::kUnimplemented)
        << index.status();
  } else if (CudaDeviceCount() == 0) {
    ASSERT_FALSE(index.ok());
    EXPECT_EQ(index.status().code(), absl::StatusCode::kFailedPrecondition)
        << index.status();
  } else {
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ((*index)->info().device, Device::kGpu);
  }
}

TEST(GpuDeviceChoiceTest, GpuValidatesOptionsLikeCpu) {
  auto index = MakeIndex(FlatOptions{.dim = 0, .device = Device::kGpu});
  ASSERT_FALSE(index.ok());
}

TEST(GpuDeviceChoiceTest, StandaloneSelectWithoutDeviceFailsCleanly) {
  if (CudaDeviceCount() > 0) GTEST_SKIP() << "a GPU is present";
  std::vector<float> dist = {3, 1, 2};
  std::vector<int64_t> idx(1);
  std::vector<float> best(1);
  absl::Status s = internal::GpuSelectKHost(dist.data(), 1, 3, 3, 1,
                                            internal::GpuSelectAlgo::kAuto,
                                            idx.data(), best.data());
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.code() == absl::StatusCode::kUnimplemented ||
              s.code() == absl::StatusCode::kFailedPrecondition)
      << s;
}

}  // namespace
}  // namespace vindex
