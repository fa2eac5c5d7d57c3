// The 4-bit scalar-quantized HNSW traversal (HNSW<M>,SQ4): recall against
// brute force on code lengths that end mid-register and with a padding
// nibble, exact re-ranked distances, and file checks of the packed codes.
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "index/hnsw/hnsw_index.h"
#include "io/format.h"
#include "test_util.h"
#include "vindex/index.h"
#include "vindex/io.h"

namespace vindex {
namespace {

using testing::BruteForce;
using testing::ClusteredVectors;
using testing::RecallAtK;
using testing::RunSearch;
using testing::Saved;
using testing::SequentialIds;

constexpr int kK = 10;

std::unique_ptr<HnswIndex> MakeHnsw(
    int dim, Metric metric,
    HnswOptions::Traversal traversal = HnswOptions::Traversal::kSq4) {
  auto index = HnswIndex::Create(HnswOptions{.dim = dim,
                                             .metric = metric,
                                             .m = 16,
                                             .ef_construction = 100,
                                             .default_ef = 64,
                                             .seed = 3,
                                             .traversal = traversal});
  EXPECT_TRUE(index.ok()) << index.status();
  return std::move(*index);
}

// Odd dims leave a padding nibble; 200 dims (100 code bytes) end past a
// 64-byte step and between 32-byte ones. Built on one thread from the same
// seed, the float and SQ4 indexes hold the same graph (it is linked by
// float distances), so the walk on codes must find about what the walk on
// floats finds.
TEST(HnswSq4Test, RecallAndExactDistancesAcrossMetricsAndDims) {
  for (int dim : {25, 200}) {
    for (Metric metric :
         {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
      const int64_t n = 2000;
      auto base = ClusteredVectors(n, dim, 20, 41 + dim);
      auto queries = ClusteredVectors(50, dim, 20, 42 + dim);
      auto ids = SequentialIds(n, 100);
      const auto truth =
          BruteForce(base, ids, queries, dim, kK, metric, nullptr);
      const MatrixView<const float> rows(base.data(), n, dim);
      auto floats = MakeHnsw(dim, metric, HnswOptions::Traversal::kFloat);
      ASSERT_TRUE(floats->Add(rows, ids, nullptr).ok());
      auto index = MakeHnsw(dim, metric);
      ASSERT_TRUE(index->Add(rows, ids, nullptr).ok());
      const SearchParams params{.k = kK, .ef = 128};
      auto got = RunSearch(*index, queries, dim, params);
      ASSERT_TRUE(got.status.ok()) << got.status;
      const double recall = RecallAtK(truth.ids, kK, got.ids, kK, kK);
      const double float_recall = RecallAtK(
          truth.ids, kK, RunSearch(*floats, queries, dim, params).ids, kK, kK);
      EXPECT_GE(recall, metric == Metric::kInnerProduct ? 0.75 : 0.9)
          << "dim " << dim << " metric " << MetricName(metric);
      EXPECT_GE(recall, float_recall - 0.05)
          << "dim " << dim << " metric " << MetricName(metric) << " float "
          << float_recall;
      // Results are re-ranked: a returned id's distance is its exact one.
      if (metric != Metric::kL2) continue;
      for (int q = 0; q < 50; ++q) {
        for (int i = 0; i < kK; ++i) {
          const int64_t id = got.ids[q * kK + i];
          ASSERT_GE(id, 100);
          double d = 0;
          for (int j = 0; j < dim; ++j) {
            const double t = queries[q * dim + j] - base[(id - 100) * dim + j];
            d += t * t;
          }
          EXPECT_NEAR(got.distances[q * kK + i], d, 1e-4 * (1 + d));
        }
      }
    }
  }
}

// Rewrites row `row`'s level-0 block in a saved file with `patch` and fixes
// the section checksum, so only the block checks can catch it.
std::string PatchBlock(std::string bytes, int64_t rows, int64_t row,
                       const std::function<void(uint8_t*)>& patch) {
  return testing::PatchSection(
      std::move(bytes), io::kTagLevel0, [&](char* payload, uint64_t length) {
        const size_t block = length / rows;
        EXPECT_EQ(block % 64, 0u);  // 4-bit blocks fill whole cache lines.
        patch(reinterpret_cast<uint8_t*>(payload + row * block));
      });
}

absl::StatusCode LoadCode(const std::string& bytes, bool map) {
  const std::string path = ::testing::TempDir() + "/hnsw_sq4_patched.vindex";
  auto w = FileWriter::Create(path);
  EXPECT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE((*w)->Write(bytes.data(), bytes.size()).ok());
  EXPECT_TRUE((*w)->Close().ok());
  return LoadIndexFromFile(path, LoadOptions{.memory_map = map})
      .status()
      .code();
}

// A nonzero padding nibble or a code that disagrees with its stored sum is
// DataLoss, copied or mapped; the unpatched file loads.
TEST(HnswSq4Test, CorruptCodesAreDataLoss) {
  // 13 code bytes (the high nibble of byte 12 is padding), then the sum.
  const int dim = 25;
  const int64_t n = 300;
  auto base = ClusteredVectors(n, dim, 5, 51);
  auto index = MakeHnsw(dim, Metric::kInnerProduct);
  ASSERT_TRUE(index
                  ->Add(MatrixView<const float>(base.data(), n, dim),
                        SequentialIds(n), nullptr)
                  .ok());
  const std::string bytes = Saved(*index);
  for (bool map : {false, true}) {
    EXPECT_EQ(LoadCode(bytes, map), absl::StatusCode::kOk);
    // The padding nibble set, and the stored sum (after the 16 code bytes
    // rounded up) raised to match: only the padding check can tell.
    const auto pad = [](uint8_t* b) {
      b[12] |= 0x10;
      uint32_t sum;
      std::memcpy(&sum, b + 16, 4);
      sum += 1;
      std::memcpy(b + 16, &sum, 4);
    };
    EXPECT_EQ(LoadCode(PatchBlock(bytes, n, 7, pad), map),
              absl::StatusCode::kDataLoss);
    // One code changed: the stored sum no longer matches.
    const auto code = [](uint8_t* b) { b[0] ^= 0x01; };
    EXPECT_EQ(LoadCode(PatchBlock(bytes, n, 7, code), map),
              absl::StatusCode::kDataLoss);
    // The sum alone changed.
    const auto sum = [](uint8_t* b) { b[16] ^= 0x01; };
    EXPECT_EQ(LoadCode(PatchBlock(bytes, n, 7, sum), map),
              absl::StatusCode::kDataLoss);
  }
}

TEST(HnswSq4Test, FactoryStringAndOptions) {
  auto index = MakeIndex("HNSW16,SQ4", 40, Metric::kCosine);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->info().description, "HNSW16,SQ4");
  EXPECT_FALSE(MakeIndex("HNSW16,SQ3", 40, Metric::kL2).ok());
  EXPECT_FALSE(MakeIndex("HNSW16,SQ4,SQ9", 40, Metric::kL2).ok());
}

}  // namespace
}  // namespace vindex
