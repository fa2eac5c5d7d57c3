// One-query brute-force scans given the rows' coded heads (as the IVF coarse
// step behind a rotation scores its centroids): the same answers as without
// them, bit for bit, and the heads are what the first check reads.
#include <cstdint>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "index/brute_force.h"
#include "index/head_codec.h"
#include "linalg/gemm.h"
#include "test_util.h"

namespace vindex::internal {
namespace {

constexpr size_t kHead = HeadCodec::kDim;

struct CodedRows {
  HeadCodec codec;
  std::vector<uint8_t> codes;
  std::vector<float> slack;
};

CodedRows Code(const std::vector<float>& rows, int64_t n, int dim) {
  CodedRows c{HeadCodec::FromCentroids(rows.data(), n, dim),
              std::vector<uint8_t>(n * kHead), std::vector<float>(n)};
  for (int64_t i = 0; i < n; ++i) {
    c.slack[i] =
        c.codec.Encode(rows.data() + i * dim, c.codes.data() + i * kHead);
  }
  return c;
}

struct Answer {
  std::vector<int64_t> ids;
  std::vector<float> scores;
};

Answer Scan(const BruteForceRows& rows, Score score, const float* q, int k) {
  Answer a{std::vector<int64_t>(k), std::vector<float>(k)};
  BruteForceKnn(rows, score, MatrixView<const float>(q, 1, rows.dim), k,
                BruteForceOutput{a.ids.data(), k, a.scores.data(), k}, nullptr,
                /*force_gemm=*/0);
  return a;
}

// Rows of 64 (only heads), 100 (heads, then the rest) and 300 dimensions
// (rows that also stop in place), L2 and screened inner products.
TEST(BruteForceHeadsTest, HeadsChangeNoAnswer) {
  constexpr int64_t kN = 700, kNq = 30;
  for (int dim : {64, 100, 300}) {
    const std::vector<float> rows = testing::RotatedLike(
        testing::ClusteredVectors(kN, dim, 20, 3), dim, 10.0f);
    const std::vector<float> queries = testing::RotatedLike(
        testing::ClusteredVectors(kNq, dim, 20, 4), dim, 10.0f);
    const CodedRows coded = Code(rows, kN, dim);
    std::vector<float> norms(kN);
    linalg::RowSquaredNorms(rows.data(), kN, dim, dim, norms.data());
    BruteForceRows plain{.data = rows.data(),
                         .rows = kN,
                         .dim = dim,
                         .stride = dim,
                         .sq_norms = norms.data()};
    for (float n : norms) plain.max_sq_norm = std::max(plain.max_sq_norm, n);
    BruteForceRows headed = plain;
    headed.head_codec = &coded.codec;
    headed.head_codes = coded.codes.data();
    headed.head_slack = coded.slack.data();
    for (Score score : {Score::kL2, Score::kNegativeInnerProduct}) {
      for (int k : {1, 8, 40}) {
        for (int64_t q = 0; q < kNq; ++q) {
          const Answer want = Scan(plain, score, queries.data() + q * dim, k);
          const Answer got = Scan(headed, score, queries.data() + q * dim, k);
          ASSERT_EQ(got.ids, want.ids)
              << "dim " << dim << " k " << k << " query " << q;
          ASSERT_EQ(std::memcmp(got.scores.data(), want.scores.data(),
                                k * sizeof(float)),
                    0)
              << "dim " << dim << " k " << k << " query " << q;
        }
      }
    }
  }
}

// A row whose head is made to lie far from the query is never read, though
// it is the query itself: the scan trusts the heads it is given.
TEST(BruteForceHeadsTest, TheFirstCheckReadsTheHeads) {
  constexpr int64_t kN = 400;
  constexpr int kDim = 100;
  const std::vector<float> rows = testing::RotatedLike(
      testing::ClusteredVectors(kN, kDim, 10, 5), kDim, 10.0f);
  CodedRows coded = Code(rows, kN, kDim);
  BruteForceRows headed{
      .data = rows.data(), .rows = kN, .dim = kDim, .stride = kDim};
  headed.head_codec = &coded.codec;
  headed.head_codes = coded.codes.data();
  headed.head_slack = coded.slack.data();
  constexpr int64_t kTarget = 350;  // Past the first block, once k are in.
  const float* q = rows.data() + kTarget * kDim;
  ASSERT_EQ(Scan(headed, Score::kL2, q, 1).ids[0], kTarget);
  // Codes at the far end of every coordinate's range from the query, no
  // slack.
  std::vector<float> offset(kHead);  // q - lo.
  coded.codec.PrepareQuery(q, offset.data());
  for (size_t j = 0; j < kHead; ++j) {
    const bool upper = offset[j] > 127.5f * coded.codec.step()[j];
    coded.codes[kTarget * kHead + j] = upper ? 0 : 255;
  }
  coded.slack[kTarget] = 0.0f;
  EXPECT_NE(Scan(headed, Score::kL2, q, 1).ids[0], kTarget);
}

}  // namespace
}  // namespace vindex::internal
