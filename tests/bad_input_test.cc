// The bad-input table (docs/bad_input.md), row by row, for every family: each
// bad input gets its documented status and leaves the index exactly as it
// was (the same saved bytes before and after).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"
#include "vindex/index.h"

namespace vindex {
namespace {

using absl::StatusCode;
using testing::ClusteredVectors;
using testing::RunSearch;
using testing::Saved;
using testing::SequentialIds;

constexpr int kDim = 8;
constexpr int64_t kRows = 400;

class BadInputTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    auto made = MakeIndex(GetParam(), kDim, Metric::kL2);
    ASSERT_TRUE(made.ok()) << made.status();
    index_ = std::move(*made);
    base_ = ClusteredVectors(kRows, kDim, 8, 5);
    MatrixView<const float> data(base_.data(), kRows, kDim);
    ASSERT_TRUE(index_->Train(data).ok());
    ASSERT_TRUE(index_->Add(data, SequentialIds(kRows)).ok());
    before_ = Saved(*index_);
  }
  void TearDown() override {
    if (index_ != nullptr) {
      EXPECT_EQ(Saved(*index_), before_) << "a failed call changed the index";
    }
  }
  StatusCode Add(std::vector<float> v, int64_t rows, int cols,
                 std::vector<int64_t> ids) {
    return index_->Add(MatrixView<const float>(v.data(), rows, cols), ids)
        .code();
  }
  StatusCode Search(std::vector<float> q, int cols, SearchParams p) {
    return RunSearch(*index_, q, cols, p).status.code();
  }

  std::unique_ptr<Index> index_;
  std::vector<float> base_;
  std::string before_;
};

TEST_P(BadInputTest, WrongDim) {
  EXPECT_EQ(
      Add(std::vector<float>(2 * (kDim - 1), 1.0f), 2, kDim - 1, {1000, 1001}),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(Search(std::vector<float>(kDim + 1, 1.0f), kDim + 1, {.k = 3}),
            StatusCode::kInvalidArgument);
}

TEST_P(BadInputTest, NanOrInf) {
  std::vector<float> v(kDim, 0.5f);
  v[3] = NAN;
  EXPECT_EQ(Add(v, 1, kDim, {1000}), StatusCode::kInvalidArgument);
  EXPECT_EQ(Search(v, kDim, {.k = 3}), StatusCode::kInvalidArgument);
  v[3] = -INFINITY;
  EXPECT_EQ(Add(v, 1, kDim, {1000}), StatusCode::kInvalidArgument);
  EXPECT_EQ(Search(v, kDim, {.k = 3}), StatusCode::kInvalidArgument);
}

TEST_P(BadInputTest, KNotPositive) {
  EXPECT_EQ(Search(std::vector<float>(kDim, 0.5f), kDim, {.k = 0}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Search(std::vector<float>(kDim, 0.5f), kDim, {.k = -1}),
            StatusCode::kInvalidArgument);
}

TEST_P(BadInputTest, KLargerThanSizePads) {
  auto r = RunSearch(
      *index_, std::vector<float>(base_.begin(), base_.begin() + kDim), kDim,
      {.k = static_cast<int>(kRows) + 5, .nprobe = 1000, .ef = 1000});
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.ids.back(), -1);
  EXPECT_EQ(r.distances.back(), INFINITY);
}

TEST_P(BadInputTest, EmptyBatch) {
  EXPECT_EQ(Add({}, 0, kDim, {}), StatusCode::kInvalidArgument);
  EXPECT_EQ(Search({}, kDim, {.k = 3}), StatusCode::kInvalidArgument);
}

TEST_P(BadInputTest, IdsDoNotMatchRows) {
  EXPECT_EQ(Add(std::vector<float>(2 * kDim, 0.5f), 2, kDim, {1000}),
            StatusCode::kInvalidArgument);
}

TEST_P(BadInputTest, DuplicateIds) {
  EXPECT_EQ(Add(std::vector<float>(2 * kDim, 0.5f), 2, kDim, {1000, 1000}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Add(std::vector<float>(2 * kDim, 0.5f), 2, kDim, {1000, 7}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Add(std::vector<float>(kDim, 0.5f), 1, kDim, {-1}),
            StatusCode::kInvalidArgument);
}

TEST_P(BadInputTest, UnknownIds) {
  if (!index_->capabilities().remove) GTEST_SKIP() << "no Remove";
  EXPECT_EQ(index_->Remove({1, 2, 123456}).code(), StatusCode::kNotFound);
  EXPECT_EQ(index_->Remove({1, 1}).code(), StatusCode::kInvalidArgument);
}

TEST_P(BadInputTest, TruncatedFlippedAndHostileFiles) {
  // Every truncation and a spread of bit flips: DataLoss, never a crash.
  for (size_t len = 0; len < before_.size(); len += 1 + before_.size() / 300) {
    MemoryReader r(std::string_view(before_).substr(0, len));
    EXPECT_EQ(LoadIndex(r).status().code(), StatusCode::kDataLoss) << len;
  }
  for (size_t byte = 0; byte < before_.size();
       byte += 1 + before_.size() / 200) {
    std::string bad = before_;
    bad[byte] ^= 0x04;
    MemoryReader r(bad);
    auto loaded = LoadIndex(r);
    EXPECT_FALSE(loaded.ok()) << "flip at " << byte;
  }
  std::string huge = before_;
  const uint64_t declared = uint64_t{1} << 62;  // First section's length field.
  std::memcpy(huge.data() + 48, &declared, 8);
  MemoryReader r(huge);
  EXPECT_EQ(LoadIndex(r).status().code(), StatusCode::kDataLoss);
}

TEST_P(BadInputTest, NegativeKnobs) {
  const std::vector<float> q(kDim, 0.5f);
  EXPECT_EQ(Search(q, kDim, {.k = 3, .nprobe = -1}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Search(q, kDim, {.k = 3, .ef = -1}), StatusCode::kInvalidArgument);
  EXPECT_EQ(Search(q, kDim, {.k = 3, .rerank_factor = -2}),
            StatusCode::kInvalidArgument);
  // kNoRerank is the one valid negative value, for every family.
  EXPECT_EQ(Search(q, kDim, {.k = 3, .rerank_factor = SearchParams::kNoRerank}),
            StatusCode::kOk);
}

TEST_P(BadInputTest, DamagedFilesLoadedMemoryMapped) {
  // The mapped path serves sections from the file without copying: damaged
  // files must be refused there too.
  const std::string path = ::testing::TempDir() + "/bad_input_mapped_" +
                           std::to_string(::getpid()) + ".vdx";
  auto load_mapped = [&](const std::string& bytes) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    return LoadIndexFromFile(path, {.memory_map = true}).status().code();
  };
  EXPECT_EQ(load_mapped(before_), StatusCode::kOk);
  for (size_t len = 0; len < before_.size(); len += 1 + before_.size() / 60) {
    EXPECT_EQ(load_mapped(before_.substr(0, len)), StatusCode::kDataLoss)
        << len;
  }
  for (size_t byte = 0; byte < before_.size();
       byte += 1 + before_.size() / 60) {
    std::string bad = before_;
    bad[byte] ^= 0x10;
    EXPECT_NE(load_mapped(bad), StatusCode::kOk) << "flip at " << byte;
  }
  std::remove(path.c_str());
}

TEST_P(BadInputTest, WrongMagicAndNewerVersion) {
  std::string bad = before_;
  bad[1] = 'X';
  MemoryReader r1(bad);
  EXPECT_EQ(LoadIndex(r1).status().code(), StatusCode::kDataLoss);
  std::string newer = before_;
  newer[8] = 99;  // Version field; the header checksum catches it first...
  MemoryReader r2(newer);
  EXPECT_EQ(LoadIndex(r2).status().code(), StatusCode::kDataLoss);
}

INSTANTIATE_TEST_SUITE_P(Families, BadInputTest,
                         ::testing::Values("Flat", "IVF8,Flat", "IVF8,PQ4",
                                           "IVF8,PQ4x4fs,Rerank", "HNSW8",
                                           "HNSW8,SQ8", "HNSW8,SQ4"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c)))
                               c = '_';
                           }
                           return name;
                         });

// Calls out of order (families that need training).
TEST(BadInputOrder, SearchOrAddBeforeTrainAndTooFewTrainingPoints) {
  for (const char* spec : {"IVF8,Flat", "IVF8,PQ4", "IVF8,PQ4x4fs"}) {
    SCOPED_TRACE(spec);
    auto index = MakeIndex(spec, kDim);
    ASSERT_TRUE(index.ok());
    std::vector<float> v = ClusteredVectors(4, kDim, 2, 9);
    EXPECT_EQ(RunSearch(**index, v, kDim, {.k = 1}).status.code(),
              StatusCode::kFailedPrecondition);
    EXPECT_EQ(
        (*index)
            ->Add(MatrixView<const float>(v.data(), 4, kDim), {1, 2, 3, 4})
            .code(),
        StatusCode::kFailedPrecondition);
    EXPECT_EQ(
        (*index)->Train(MatrixView<const float>(v.data(), 4, kDim)).code(),
        StatusCode::kInvalidArgument);  // 4 points < nlist 8
    EXPECT_EQ((*index)->info().size, 0);
    EXPECT_FALSE((*index)->info().trained);
  }
}

TEST(BadInputOrder, FilterOnEmptyIndex) {
  for (const char* spec : {"Flat", "IVF8,Flat", "HNSW8"}) {
    SCOPED_TRACE(spec);
    auto index = MakeIndex(spec, kDim);
    ASSERT_TRUE(index.ok());
    if ((*index)->capabilities().needs_training) {
      std::vector<float> v = ClusteredVectors(64, kDim, 8, 9);
      ASSERT_TRUE(
          (*index)->Train(MatrixView<const float>(v.data(), 64, kDim)).ok());
    }
    IdFilter f = IdFilter::Range(0, 10);
    EXPECT_EQ(RunSearch(**index, std::vector<float>(kDim, 1.0f), kDim,
                        {.k = 1, .filter = &f})
                  .status.code(),
              StatusCode::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace vindex
