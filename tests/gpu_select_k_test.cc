// GPU k-selection against the CPU top-k (internal::SelectTopK): identical
// ids and values, ties broken by the smaller column, for many shapes and k up
// to 4096, with both algorithms. Skipped without a GPU.
#include <cmath>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "core/topk.h"
#include "gtest/gtest.h"
#include "index/gpu_factory.h"
#include "vindex/index.h"

namespace vindex {
namespace {

using internal::GpuSelectAlgo;

#define SKIP_WITHOUT_GPU() \
  if (CudaDeviceCount() == 0) GTEST_SKIP() << "no usable GPU"

enum class Fill { kUniform, kFewValues, kAllEqual, kSorted, kReversed };

std::vector<float> MakeRows(int64_t rows, int64_t cols, Fill fill,
                            uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-100.0f, 100.0f);
  std::uniform_int_distribution<int> few(0, 7);
  std::vector<float> m(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      float v = 0;
      switch (fill) {
        case Fill::kUniform:
          v = u(rng);
          break;
        case Fill::kFewValues:
          v = static_cast<float>(few(rng)) - 3.0f;
          break;
        case Fill::kAllEqual:
          v = 1.5f;
          break;
        case Fill::kSorted:
          v = static_cast<float>(c);
          break;
        case Fill::kReversed:
          v = static_cast<float>(cols - c);
          break;
      }
      m[r * cols + c] = v;
    }
  }
  return m;
}

// Compares GPU and CPU selection of every row; NaN entries are left out of
// the CPU reference (the GPU never selects them).
void ExpectSameAsCpu(const std::vector<float>& m, int64_t rows, int64_t cols,
                     int k, GpuSelectAlgo algo) {
  std::vector<int64_t> gi(rows * k);
  std::vector<float> gd(rows * k);
  absl::Status s = internal::GpuSelectKHost(m.data(), rows, cols, cols, k, algo,
                                            gi.data(), gd.data());
  ASSERT_TRUE(s.ok()) << s;
  std::vector<int64_t> ci(k);
  std::vector<float> cd(k);
  int64_t bad = 0;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<float> vals;
    std::vector<int64_t> cols_kept;
    for (int64_t c = 0; c < cols; ++c) {
      const float v = m[r * cols + c];
      if (std::isnan(v)) continue;
      vals.push_back(v);
      cols_kept.push_back(c);
    }
    internal::SelectTopK(vals.data(), cols_kept.data(), vals.size(), k,
                         ci.data(), cd.data());
    for (int j = 0; j < k; ++j) {
      if (gi[r * k + j] != ci[j] || gd[r * k + j] != cd[j]) {
        if (++bad <= 5) {
          ADD_FAILURE() << "row " << r << " rank " << j << ": gpu ("
                        << gi[r * k + j] << ", " << gd[r * k + j] << ") cpu ("
                        << ci[j] << ", " << cd[j] << ")";
        }
      }
    }
  }
  EXPECT_EQ(bad, 0) << rows << " x " << cols << " k=" << k;
}

class GpuSelectKShapes
    : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int>> {};

TEST_P(GpuSelectKShapes, AutoMatchesCpu) {
  SKIP_WITHOUT_GPU();
  auto [rows, cols, k] = GetParam();
  ExpectSameAsCpu(MakeRows(rows, cols, Fill::kUniform, rows * 31 + cols), rows,
                  cols, k, GpuSelectAlgo::kAuto);
}

TEST_P(GpuSelectKShapes, RadixMatchesCpu) {
  SKIP_WITHOUT_GPU();
  auto [rows, cols, k] = GetParam();
  ExpectSameAsCpu(MakeRows(rows, cols, Fill::kUniform, rows * 17 + cols), rows,
                  cols, k, GpuSelectAlgo::kRadix);
}

TEST_P(GpuSelectKShapes, BlockSortMatchesCpu) {
  SKIP_WITHOUT_GPU();
  auto [rows, cols, k] = GetParam();
  if (k > internal::kGpuBlockSelectMaxK) GTEST_SKIP() << "k above block sort";
  ExpectSameAsCpu(MakeRows(rows, cols, Fill::kUniform, rows * 7 + cols), rows,
                  cols, k, GpuSelectAlgo::kBlockSort);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GpuSelectKShapes,
    ::testing::Values(
        std::make_tuple(1, 1, 1), std::make_tuple(3, 5, 10),
        std::make_tuple(1, 100, 100), std::make_tuple(7, 33, 32),
        std::make_tuple(5, 1000, 1), std::make_tuple(5, 1000, 33),
        std::make_tuple(64, 4097, 100), std::make_tuple(2, 300000, 10),
        std::make_tuple(2, 300000, 256), std::make_tuple(3, 200000, 1024),
        std::make_tuple(100, 10000, 64), std::make_tuple(1000, 2000, 128),
        std::make_tuple(4, 50000, 1025), std::make_tuple(2, 100000, 2048),
        std::make_tuple(3, 70000, 4096), std::make_tuple(2, 3000, 4096)));

TEST(GpuSelectKTest, TiesGoToTheSmallerColumn) {
  SKIP_WITHOUT_GPU();
  for (Fill fill :
       {Fill::kFewValues, Fill::kAllEqual, Fill::kSorted, Fill::kReversed}) {
    for (int k : {1, 10, 100, 1000, 3000}) {
      const int64_t rows = 3, cols = 40000;
      auto m = MakeRows(rows, cols, fill, k);
      ExpectSameAsCpu(m, rows, cols, k, GpuSelectAlgo::kRadix);
      if (k <= internal::kGpuBlockSelectMaxK) {
        ExpectSameAsCpu(m, rows, cols, k, GpuSelectAlgo::kBlockSort);
      }
    }
  }
}

TEST(GpuSelectKTest, NanIsNeverSelectedAndMissingIsPadded) {
  SKIP_WITHOUT_GPU();
  const int64_t rows = 4, cols = 5000;
  auto m = MakeRows(rows, cols, Fill::kUniform, 99);
  for (int64_t c = 0; c < cols; c += 2) m[c] = std::nanf("");      // Row 0.
  for (int64_t c = 0; c < cols; ++c) m[cols + c] = std::nanf("");  // Row 1.
  m[2 * cols + 7] = -0.0f;
  m[2 * cols + 3] = 0.0f;
  m[3 * cols + 11] = std::numeric_limits<float>::infinity();
  for (int k : {1, 50, 2600, 4096}) {
    ExpectSameAsCpu(m, rows, cols, k, GpuSelectAlgo::kRadix);
    if (k <= internal::kGpuBlockSelectMaxK) {
      ExpectSameAsCpu(m, rows, cols, k, GpuSelectAlgo::kBlockSort);
    }
  }
}

TEST(GpuSelectKTest, KAboveColumnsIsPadded) {
  SKIP_WITHOUT_GPU();
  auto m = MakeRows(2, 10, Fill::kUniform, 5);
  ExpectSameAsCpu(m, 2, 10, 64, GpuSelectAlgo::kAuto);
  ExpectSameAsCpu(m, 2, 10, 2000, GpuSelectAlgo::kAuto);
}

TEST(GpuSelectKTest, BadArgumentsAreErrors) {
  SKIP_WITHOUT_GPU();
  std::vector<float> m(10, 1.0f);
  std::vector<int64_t> i(5000);
  std::vector<float> d(5000);
  EXPECT_FALSE(internal::GpuSelectKHost(m.data(), 1, 10, 10, 0,
                                        GpuSelectAlgo::kAuto, i.data(),
                                        d.data())
                   .ok());
  EXPECT_FALSE(internal::GpuSelectKHost(m.data(), 1, 10, 10, 4097,
                                        GpuSelectAlgo::kAuto, i.data(),
                                        d.data())
                   .ok());
  EXPECT_FALSE(internal::GpuSelectKHost(m.data(), 1, 10, 10, 1025,
                                        GpuSelectAlgo::kBlockSort, i.data(),
                                        d.data())
                   .ok());
}

}  // namespace
}  // namespace vindex
