// The host-row code both Flat indexes share: Remove's compaction, the id
// checks and their messages, copying rows out, preparing rows to add, and
// the Flat file a saved index loads back from.
#include "index/flat/flat_rows.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "vindex/index.h"
#include "vindex/io.h"

namespace vindex::internal {
namespace {

using Moves = std::vector<std::pair<int64_t, int64_t>>;

struct Rows {
  std::vector<int64_t> ids;
  IdMap<int64_t> row_of;
  explicit Rows(std::vector<int64_t> initial) : ids(std::move(initial)) {
    for (size_t r = 0; r < ids.size(); ++r) {
      row_of.Insert(ids[r], static_cast<int64_t>(r));
    }
  }
};

TEST(FlatRowsTest, CompactRemovingMovesTheLastRowIntoEachHoleInOrder) {
  Rows rows({10, 11, 12, 13, 14, 15});
  Moves moves;
  // 11 (row 1) <- 15; then 15 (now row 1) <- 14; 13 is then the last row.
  CompactRemoving(
      std::vector<int64_t>{11, 15, 13}, rows.ids, rows.row_of,
      [&](int64_t to, int64_t from) { moves.emplace_back(to, from); });
  EXPECT_EQ(moves, (Moves{{1, 5}, {1, 4}}));
  EXPECT_EQ(rows.ids, (std::vector<int64_t>{10, 14, 12}));
  EXPECT_EQ(rows.row_of.size(), 3u);
  for (int64_t r = 0; r < 3; ++r) EXPECT_EQ(*rows.row_of.Find(rows.ids[r]), r);
  EXPECT_FALSE(rows.row_of.Contains(11));
  EXPECT_FALSE(rows.row_of.Contains(13));
  EXPECT_FALSE(rows.row_of.Contains(15));
}

TEST(FlatRowsTest, CompactRemovingEverythingLeavesNothing) {
  Rows rows({7, 8});
  int moves = 0;
  CompactRemoving(std::vector<int64_t>{7, 8}, rows.ids, rows.row_of,
                  [&](int64_t, int64_t) { ++moves; });
  EXPECT_EQ(moves, 1);
  EXPECT_TRUE(rows.ids.empty());
  EXPECT_EQ(rows.row_of.size(), 0u);
}

TEST(FlatRowsTest, IdChecksNameTheFirstOffendingId) {
  Rows rows({1, 2, 3});
  EXPECT_TRUE(CheckIdsAbsent(rows.row_of, std::vector<int64_t>{4, 5}).ok());
  absl::Status s = CheckIdsAbsent(rows.row_of, std::vector<int64_t>{4, 2});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "id 2 is already in the index");
  EXPECT_TRUE(CheckIdsPresent(rows.row_of, std::vector<int64_t>{3, 1}).ok());
  s = CheckIdsPresent(rows.row_of, std::vector<int64_t>{3, 9});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "id 9 is not in the index");
}

TEST(FlatRowsTest, CopyRowsOutChecksTheShapeAndCopiesById) {
  Rows rows({5, 6});
  const std::vector<float> vectors = {1, 2, 3, 4, 5, 6};  // 2 rows of 3
  std::vector<float> out(2 * 4, -1.0f);                   // stride 4
  MatrixView<float> view(out.data(), 2, 3, 4);
  const std::vector<int64_t> want = {6, 5};
  ASSERT_TRUE(CheckVectorsOutput(want, view, 3).ok());
  CopyRowsOut(rows.row_of, vectors.data(), 3, want, view);
  EXPECT_EQ(out, (std::vector<float>{4, 5, 6, -1, 1, 2, 3, -1}));
  const absl::Status s =
      CheckVectorsOutput(want, MatrixView<float>(out.data(), 2, 2), 3);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "GetVectors output must be 2 x 3");
}

TEST(FlatRowsTest, PrepareNewRowsNormalisesForCosineAndKeepsNorms) {
  const std::vector<float> in = {3, 4, 0, 2};
  const std::vector<int64_t> ids = {1, 2};
  auto l2 = PrepareNewRows(MatrixView<const float>(in.data(), 2, 2), ids, 2,
                           Metric::kL2);
  ASSERT_TRUE(l2.ok()) << l2.status();
  EXPECT_EQ(l2->vectors, in);
  EXPECT_EQ(l2->sq_norms, (std::vector<float>{25, 4}));
  auto cos = PrepareNewRows(MatrixView<const float>(in.data(), 2, 2), ids, 2,
                            Metric::kCosine);
  ASSERT_TRUE(cos.ok()) << cos.status();
  EXPECT_FLOAT_EQ(cos->vectors[0], 0.6f);
  EXPECT_FLOAT_EQ(cos->vectors[1], 0.8f);
  EXPECT_FLOAT_EQ(cos->sq_norms[1], 1.0f);
  const std::vector<int64_t> repeated = {1, 1};
  EXPECT_EQ(PrepareNewRows(MatrixView<const float>(in.data(), 2, 2), repeated,
                           2, Metric::kL2)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FlatRowsTest, SavedFlatFileLoadsBack) {
  const std::vector<int64_t> ids = {40, -7};
  const std::vector<float> vectors = {1, 2, 3, 4, 5, 6};
  std::string bytes;
  StringWriter w(&bytes);
  ASSERT_TRUE(SaveFlat(w, 3, Metric::kInnerProduct, ids, vectors.data()).ok());
  MemoryReader r(bytes);
  auto index = LoadIndex(r);
  ASSERT_TRUE(index.ok()) << index.status();
  const IndexInfo info = (*index)->info();
  EXPECT_EQ(info.family, IndexFamily::kFlat);
  EXPECT_EQ(info.metric, Metric::kInnerProduct);
  EXPECT_EQ(info.dim, 3);
  EXPECT_EQ(info.size, 2);
  std::vector<float> out(6);
  ASSERT_TRUE((*index)
                  ->GetVectors(std::vector<int64_t>{-7, 40},
                               MatrixView<float>(out.data(), 2, 3))
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{4, 5, 6, 1, 2, 3}));
}

}  // namespace
}  // namespace vindex::internal
