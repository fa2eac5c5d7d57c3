// GPU Flat index against the CPU Flat index: the same ids up to near-ties
// and close distances, for every metric, several batch shapes (crossing the
// GPU query and vector tiles), k from 1 to beyond the GPU selection limit,
// filters, Remove, GetVectors and Save. Skipped without a GPU.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "index/gpu_factory.h"
#include "test_util.h"
#include "vindex/index.h"

namespace vindex {
namespace {

using testing::RandomVectors;
using testing::RunSearch;
using testing::SequentialIds;

#define SKIP_WITHOUT_GPU() \
  if (CudaDeviceCount() == 0) GTEST_SKIP() << "no usable GPU"

std::unique_ptr<Index> Make(int d, Metric metric, Device device) {
  auto index =
      MakeIndex(FlatOptions{.dim = d, .metric = metric, .device = device});
  EXPECT_TRUE(index.ok()) << index.status();
  return index.ok() ? std::move(*index) : nullptr;
}

// The same ids at every rank, except where the CPU's distances at that rank
// and a neighbouring one are within float rounding of each other.
void ExpectAgree(const testing::SearchResult& gpu,
                 const testing::SearchResult& cpu, int64_t nq, int k) {
  ASSERT_TRUE(gpu.status.ok()) << gpu.status;
  ASSERT_TRUE(cpu.status.ok()) << cpu.status;
  int64_t mismatches = 0;
  for (int64_t q = 0; q < nq; ++q) {
    for (int j = 0; j < k; ++j) {
      const int64_t i = q * k + j;
      if (cpu.ids[i] == -1) {
        EXPECT_EQ(gpu.ids[i], -1) << "q=" << q << " j=" << j;
        EXPECT_EQ(gpu.distances[i], cpu.distances[i]);
        continue;
      }
      const float scale = 1e-4f * (1 + std::abs(cpu.distances[i]));
      EXPECT_NEAR(gpu.distances[i], cpu.distances[i], scale)
          << "q=" << q << " j=" << j;
      if (gpu.ids[i] != cpu.ids[i]) {
        const bool tie =
            (j > 0 &&
             std::abs(cpu.distances[i] - cpu.distances[i - 1]) < scale) ||
            (j + 1 < k &&
             std::abs(cpu.distances[i] - cpu.distances[i + 1]) < scale);
        if (!tie) ++mismatches;
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

struct Case {
  Metric metric;
  int64_t n;
  int64_t nq;
  int d;
  int k;
};

std::string CaseName(const Case& c) {
  const char* m = c.metric == Metric::kL2             ? "L2"
                  : c.metric == Metric::kInnerProduct ? "IP"
                                                      : "Cos";
  return std::string(m) + "_n" + std::to_string(c.n) + "_nq" +
         std::to_string(c.nq) + "_d" + std::to_string(c.d) + "_k" +
         std::to_string(c.k);
}
void PrintTo(const Case& c, std::ostream* os) { *os << CaseName(c); }

class GpuFlatVsCpu : public ::testing::TestWithParam<Case> {};

TEST_P(GpuFlatVsCpu, SameResults) {
  SKIP_WITHOUT_GPU();
  const Case c = GetParam();
  auto gpu = Make(c.d, c.metric, Device::kGpu);
  auto cpu = Make(c.d, c.metric, Device::kCpu);
  ASSERT_NE(gpu, nullptr);
  EXPECT_EQ(gpu->info().device, Device::kGpu);
  auto base = RandomVectors(c.n, c.d, 1 + c.n);
  auto ids = SequentialIds(c.n, 1000);
  if (c.n > 0) {
    MatrixView<const float> v(base.data(), c.n, c.d);
    ASSERT_TRUE(gpu->Add(v, ids).ok());
    ASSERT_TRUE(cpu->Add(v, ids).ok());
  }
  auto queries = RandomVectors(c.nq, c.d, 7 + c.nq);
  SearchParams p{.k = c.k};
  ExpectAgree(RunSearch(*gpu, queries, c.d, p),
              RunSearch(*cpu, queries, c.d, p), c.nq, c.k);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GpuFlatVsCpu,
    ::testing::Values(Case{Metric::kL2, 0, 3, 8, 5},
                      Case{Metric::kL2, 5, 3, 8, 10},
                      Case{Metric::kL2, 1000, 1, 16, 1},
                      Case{Metric::kL2, 1000, 37, 17, 10},
                      Case{Metric::kInnerProduct, 1000, 37, 32, 10},
                      Case{Metric::kCosine, 1000, 37, 32, 10},
                      Case{Metric::kL2, 20000, 2100, 64, 100},
                      Case{Metric::kInnerProduct, 20000, 2100, 64, 100},
                      Case{Metric::kL2, 300000, 300, 128, 100},
                      Case{Metric::kL2, 300000, 3, 128, 1024},
                      Case{Metric::kL2, 50000, 20, 24, 1500},
                      Case{Metric::kCosine, 50000, 20, 24, 4096},
                      Case{Metric::kL2, 10000, 5, 8, 5000}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return CaseName(info.param);
    });

TEST(GpuFlatIndexTest, FilterRemoveGetVectorsSave) {
  SKIP_WITHOUT_GPU();
  const int d = 24;
  const int64_t n = 30000;
  auto gpu = Make(d, Metric::kL2, Device::kGpu);
  auto cpu = Make(d, Metric::kL2, Device::kCpu);
  ASSERT_NE(gpu, nullptr);
  auto base = RandomVectors(n, d, 3);
  auto ids = SequentialIds(n, 5);
  // Two batches: the second grows the device buffers.
  for (int64_t b = 0; b < 2; ++b) {
    MatrixView<const float> v(base.data() + b * (n / 2) * d, n / 2, d);
    absl::Span<const int64_t> s(ids.data() + b * (n / 2), n / 2);
    ASSERT_TRUE(gpu->Add(v, s).ok());
    ASSERT_TRUE(cpu->Add(v, s).ok());
  }
  auto queries = RandomVectors(50, d, 4);
  IdFilter filter = IdFilter::Predicate([](int64_t id) { return id % 3 != 0; });
  SearchParams p{.k = 20, .filter = &filter};
  ExpectAgree(RunSearch(*gpu, queries, d, p), RunSearch(*cpu, queries, d, p),
              50, 20);
  IdFilter few = IdFilter::AllowList(std::vector<int64_t>{7, 8, 9});
  p.filter = &few;
  ExpectAgree(RunSearch(*gpu, queries, d, p), RunSearch(*cpu, queries, d, p),
              50, 20);

  std::vector<int64_t> gone;
  for (int64_t i = 5; i < n + 5; i += 7) gone.push_back(i);
  ASSERT_TRUE(gpu->Remove(gone).ok());
  ASSERT_TRUE(cpu->Remove(gone).ok());
  EXPECT_EQ(gpu->info().size, cpu->info().size);
  p.filter = nullptr;
  ExpectAgree(RunSearch(*gpu, queries, d, p), RunSearch(*cpu, queries, d, p),
              50, 20);

  std::vector<float> got(2 * d), want(2 * d);
  std::vector<int64_t> some = {6, n + 4};
  ASSERT_TRUE(gpu->GetVectors(some, MatrixView<float>(got.data(), 2, d)).ok());
  ASSERT_TRUE(cpu->GetVectors(some, MatrixView<float>(want.data(), 2, d)).ok());
  EXPECT_EQ(got, want);

  std::string bytes;
  StringWriter w(&bytes);
  ASSERT_TRUE(gpu->Save(w).ok());
  MemoryReader r(bytes);
  auto loaded = LoadIndex(r);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->info().device, Device::kCpu);
  ExpectAgree(RunSearch(*gpu, queries, d, p),
              RunSearch(**loaded, queries, d, p), 50, 20);
}

TEST(GpuFlatIndexTest, MemoryCapGivesResourceExhaustedAndNoChange) {
  SKIP_WITHOUT_GPU();
  const int d = 64;
  auto made = internal::MakeGpuFlatIndexWithMemoryCap(
      FlatOptions{.dim = d, .device = Device::kGpu}, uint64_t{16} << 20);
  ASSERT_TRUE(made.ok()) << made.status();
  Index& gpu = **made;
  auto cpu = Make(d, Metric::kL2, Device::kCpu);
  // 100k x 64 floats (25 MB) cannot fit in 16 MiB.
  auto big = RandomVectors(100000, d, 11);
  absl::Status s = gpu.Add(MatrixView<const float>(big.data(), 100000, d),
                           SequentialIds(100000));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(gpu.info().size, 0);
  // A small batch fits, and searching it works within the cap.
  ASSERT_TRUE(
      gpu.Add(MatrixView<const float>(big.data(), 5000, d), SequentialIds(5000))
          .ok());
  ASSERT_TRUE(cpu->Add(MatrixView<const float>(big.data(), 5000, d),
                       SequentialIds(5000))
                  .ok());
  auto queries = RandomVectors(3000, d, 12);
  SearchParams p{.k = 10};
  ExpectAgree(RunSearch(gpu, queries, d, p), RunSearch(*cpu, queries, d, p),
              3000, 10);
}

TEST(GpuFlatIndexTest, OverlappedAndSerialTilesGiveTheSameResults) {
  SKIP_WITHOUT_GPU();
  const int d = 32;
  // A small cap makes many small tiles, so the two-stream pipeline turns
  // over both distance buffers many times.
  auto made = internal::MakeGpuFlatIndexWithMemoryCap(
      FlatOptions{
          .dim = d, .metric = Metric::kInnerProduct, .device = Device::kGpu},
      uint64_t{24} << 20);
  ASSERT_TRUE(made.ok()) << made.status();
  Index& gpu = **made;
  auto cpu = Make(d, Metric::kInnerProduct, Device::kCpu);
  auto base = RandomVectors(40000, d, 21);
  MatrixView<const float> v(base.data(), 40000, d);
  ASSERT_TRUE(gpu.Add(v, SequentialIds(40000)).ok());
  ASSERT_TRUE(cpu->Add(v, SequentialIds(40000)).ok());
  auto queries = RandomVectors(2500, d, 22);
  SearchParams p{.k = 50};
  auto overlapped = RunSearch(gpu, queries, d, p);
  setenv("VINDEX_GPU_OVERLAP", "0", 1);
  auto serial = RunSearch(gpu, queries, d, p);
  unsetenv("VINDEX_GPU_OVERLAP");
  ASSERT_TRUE(overlapped.status.ok()) << overlapped.status;
  ASSERT_TRUE(serial.status.ok()) << serial.status;
  EXPECT_EQ(overlapped.ids, serial.ids);
  EXPECT_EQ(overlapped.distances, serial.distances);
  ExpectAgree(overlapped, RunSearch(*cpu, queries, d, p), 2500, 50);
}

TEST(GpuFlatIndexTest, SearchesRunWhileAnotherThreadAdds) {
  SKIP_WITHOUT_GPU();
  const int d = 16;
  auto gpu = Make(d, Metric::kL2, Device::kGpu);
  ASSERT_NE(gpu, nullptr);
  auto base = RandomVectors(20000, d, 31);
  ASSERT_TRUE(gpu->Add(MatrixView<const float>(base.data(), 1000, d),
                       SequentialIds(1000))
                  .ok());
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread searcher([&] {
    auto queries = RandomVectors(64, d, 32);
    while (!done.load()) {
      auto r = RunSearch(*gpu, queries, d, SearchParams{.k = 5});
      if (!r.status.ok()) ++failures;
      for (int64_t id : r.ids) {
        if (id < 0 || id >= 20000) ++failures;
      }
    }
  });
  for (int64_t b = 1; b < 20; ++b) {
    ASSERT_TRUE(
        gpu->Add(MatrixView<const float>(base.data() + b * 1000 * d, 1000, d),
                 SequentialIds(1000, b * 1000))
            .ok());
  }
  done = true;
  searcher.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(gpu->info().size, 20000);
}

TEST(GpuFlatIndexTest, BadInputIsRejected) {
  SKIP_WITHOUT_GPU();
  auto gpu = Make(8, Metric::kL2, Device::kGpu);
  ASSERT_NE(gpu, nullptr);
  std::vector<float> v(16, 1.0f);
  EXPECT_FALSE(gpu->Add(MatrixView<const float>(v.data(), 2, 8),
                        std::vector<int64_t>{1, 1})
                   .ok());
  ASSERT_TRUE(gpu->Add(MatrixView<const float>(v.data(), 2, 8),
                       std::vector<int64_t>{1, 2})
                  .ok());
  auto r =
      RunSearch(*gpu, std::vector<float>(7, 0.0f), 7, SearchParams{.k = 1});
  EXPECT_FALSE(r.status.ok());
  EXPECT_FALSE(gpu->Remove(std::vector<int64_t>{3}).ok());
  EXPECT_EQ(gpu->info().size, 2);
}

}  // namespace
}  // namespace vindex
