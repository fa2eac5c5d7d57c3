// HeadCodec (the 8-bit heads of IVF-Flat rows behind a rotation, and their
// 4-bit tails) and the heads InvertedLists keeps with it: a row's slack
// bounds its coding error however far out the row lies, and every list
// mutation keeps each entry's head and tail those of its vector.
#include "index/head_codec.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "index/ivf/inverted_lists.h"

namespace vindex::internal {
namespace {

constexpr size_t kDim = HeadCodec::kDim;
constexpr int kVecDim = 80;

std::vector<float> Gaussian(size_t n, size_t dim, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, scale);
  std::vector<float> v(n * dim);
  for (float& x : v) x = g(rng);
  return v;
}

// The L2 norm of row's coding error, in double, from the codec's own
// decoding (lo + code * step), recovered from a zero query's offsets.
double CodingError(const HeadCodec& codec, const float* row,
                   const uint8_t* code) {
  std::vector<float> zero(kDim, 0.0f), offset(kDim);
  codec.PrepareQuery(zero.data(), offset.data());  // offset = -lo.
  double sq = 0.0;
  for (size_t j = 0; j < kDim; ++j) {
    const double decoded =
        -double(offset[j]) + double(code[j]) * double(codec.step()[j]);
    sq += (row[j] - decoded) * (row[j] - decoded);
  }
  return std::sqrt(sq);
}

TEST(HeadCodecTest, SlackBoundsTheCodingErrorOfEveryRow) {
  const std::vector<float> centroids = Gaussian(50, kVecDim, 1.0f, 1);
  const HeadCodec codec =
      HeadCodec::FromCentroids(centroids.data(), 50, kVecDim);
  // Rows near the centroids, and rows far outside their range (clamped).
  for (float scale : {0.5f, 1.0f, 40.0f}) {
    const std::vector<float> rows = Gaussian(200, kVecDim, scale, 2);
    size_t small = 0;
    for (size_t i = 0; i < 200; ++i) {
      uint8_t code[kDim];
      const float* row = rows.data() + i * kVecDim;
      const float slack = codec.Encode(row, code);
      const double err = CodingError(codec, row, code);
      EXPECT_GE(double(slack), err) << "scale " << scale << " row " << i;
      // In range, each coordinate is within half a step.
      double half_steps = 0.0;
      for (size_t j = 0; j < kDim; ++j)
        half_steps += 0.25 * codec.step()[j] * codec.step()[j];
      if (err <= std::sqrt(half_steps) * 1.0001) ++small;
    }
    if (scale <= 1.0f) {
      EXPECT_GT(small, 190u) << "rows in range code within half a step";
    } else {
      EXPECT_LT(small, 10u) << "far rows clamp and their slack grows";
    }
  }
}

TEST(HeadCodecTest, ConstantCoordinatesCodeAsZeroWithExactSlack) {
  std::vector<float> centroids(3 * kVecDim, 2.5f);
  const HeadCodec codec =
      HeadCodec::FromCentroids(centroids.data(), 3, kVecDim);
  std::vector<float> row(kVecDim, 2.5f);
  row[0] = 5.5f;  // 3 away from the only value the codec knows.
  uint8_t code[kDim];
  const float slack = codec.Encode(row.data(), code);
  for (size_t j = 0; j < kDim; ++j) EXPECT_EQ(code[j], 0);
  EXPECT_GE(slack, 3.0f);
  EXPECT_LT(slack, 3.0001f);
}

// The 4-bit tail of coordinate t (kernels::CodedHeads' packing).
int TailCode(const uint8_t* code, size_t t) {
  constexpr size_t kBlock = kernels::kCodedTailBlock;
  const size_t in = t % kBlock;
  const uint8_t byte = code[t / kBlock * (kBlock / 2) + in % (kBlock / 2)];
  return in < kBlock / 2 ? (byte & 15) : (byte >> 4);
}

TEST(HeadCodecTest, TailSlackBoundsTheWholeRowsCodingError) {
  constexpr int kTailed = 300;
  const std::vector<float> centroids = Gaussian(50, kTailed, 1.0f, 5);
  const HeadCodec codec =
      HeadCodec::FromCentroids(centroids.data(), 50, kTailed, /*tail=*/true);
  const size_t coded = kTailed - kDim;
  ASSERT_EQ(codec.tail_dim() % kernels::kCodedTailBlock, 0u);
  ASSERT_GE(codec.tail_dim(), coded);
  ASSERT_LT(codec.tail_dim(), coded + kernels::kCodedTailBlock);
  ASSERT_EQ(codec.tail_bytes(), codec.tail_dim() / 2);
  std::vector<float> zero(kTailed, 0.0f), lo(codec.tail_dim());
  codec.PrepareQueryTail(zero.data(), lo.data());  // -lo; 0 on padding.
  for (size_t t = coded; t < codec.tail_dim(); ++t) {
    EXPECT_EQ(lo[t], 0.0f);
    EXPECT_EQ(codec.tail_step()[t], 0.0f);
  }
  for (float scale : {0.5f, 1.0f, 40.0f}) {
    const std::vector<float> rows = Gaussian(200, kTailed, scale, 6);
    size_t tighter = 0;
    for (size_t i = 0; i < 200; ++i) {
      const float* row = rows.data() + i * kTailed;
      uint8_t head[kDim];
      std::vector<uint8_t> tail(codec.tail_bytes(), 0xAB);
      const float head_slack = codec.Encode(row, head);
      const float slack = codec.EncodeTail(row, head_slack, tail.data());
      double sq = CodingError(codec, row, head);
      sq *= sq;
      for (size_t t = 0; t < codec.tail_dim(); ++t) {
        const int c = TailCode(tail.data(), t);
        if (t >= coded) {
          EXPECT_EQ(c, 0) << "padding codes 0";
          continue;
        }
        const double decoded =
            -double(lo[t]) + c * double(codec.tail_step()[t]);
        sq += (row[kDim + t] - decoded) * (row[kDim + t] - decoded);
      }
      EXPECT_GE(double(slack), std::sqrt(sq)) << "scale " << scale;
      EXPECT_GE(slack, head_slack);
      // Coded, a row lies much nearer its decoding than to the origin.
      double norm_sq = 0.0;
      for (int j = 0; j < kTailed; ++j) norm_sq += double(row[j]) * row[j];
      if (slack < 0.5 * std::sqrt(norm_sq)) ++tighter;
    }
    if (scale <= 1.0f) EXPECT_GT(tighter, 190u) << "scale " << scale;
  }
}

// Every entry's head (and tail, when the codec codes one) is what the codec
// makes of its vector.
void ExpectHeadsInStep(const InvertedLists& lists, const HeadCodec& codec) {
  ASSERT_NE(lists.head_codec(), nullptr);
  const size_t tail_bytes = codec.tail_bytes();
  for (int64_t l = 0; l < lists.nlist(); ++l) {
    const int64_t n = lists.list_size(l);
    if (n == 0) continue;
    ASSERT_NE(lists.head_codes(l), nullptr);
    ASSERT_NE(lists.head_slack(l), nullptr);
    ASSERT_EQ(lists.tail_codes(l) != nullptr, tail_bytes > 0);
    ASSERT_EQ(lists.row_slack(l) != nullptr, tail_bytes > 0);
    for (int64_t i = 0; i < n; ++i) {
      uint8_t code[kDim];
      const float* vec = lists.vectors(l) + i * kVecDim;
      const float slack = codec.Encode(vec, code);
      EXPECT_EQ(std::memcmp(code, lists.head_codes(l) + i * kDim, kDim), 0)
          << "list " << l << " entry " << i;
      EXPECT_EQ(slack, lists.head_slack(l)[i])
          << "list " << l << " entry " << i;
      if (tail_bytes == 0) continue;
      std::vector<uint8_t> tail(tail_bytes);
      EXPECT_EQ(codec.EncodeTail(vec, slack, tail.data()),
                lists.row_slack(l)[i]);
      EXPECT_EQ(std::memcmp(tail.data(), lists.tail_codes(l) + i * tail_bytes,
                            tail_bytes),
                0)
          << "list " << l << " entry " << i;
    }
  }
}

class InvertedListHeadsTest : public ::testing::TestWithParam<bool> {};

TEST_P(InvertedListHeadsTest, FollowEveryMutation) {
  const std::vector<float> centroids = Gaussian(4, kVecDim, 1.0f, 3);
  const HeadCodec codec =
      HeadCodec::FromCentroids(centroids.data(), 4, kVecDim, GetParam());
  ASSERT_EQ(codec.tail_dim() > 0, GetParam());
  const std::vector<float> vecs = Gaussian(300, kVecDim, 1.0f, 4);
  InvertedLists lists(4, CodeLayout::kNone, 0, kVecDim);
  // Entries added before the heads are enabled get theirs then.
  for (int64_t i = 0; i < 100; ++i)
    lists.Append(i % 4, i, nullptr, vecs.data() + i * kVecDim);
  lists.EnableHeads(codec);
  ExpectHeadsInStep(lists, codec);
  for (int64_t i = 100; i < 300; ++i) {
    if (i % 50 == 0) lists.Reserve(i % 4, 20);
    lists.Append(i % 4, i, nullptr, vecs.data() + i * kVecDim);
  }
  ExpectHeadsInStep(lists, codec);
  // Removal moves each list's last entry into the hole.
  for (int64_t l = 0; l < 4; ++l) {
    lists.RemoveAt(l, 0);
    lists.RemoveAt(l, lists.list_size(l) / 2);
    lists.RemoveAt(l, lists.list_size(l) - 1);
  }
  ExpectHeadsInStep(lists, codec);
  ExpectHeadsInStep(lists.OwnedCopy(), codec);
  // Lists set whole, owned or as views, code their entries on arrival.
  InvertedLists whole(2, CodeLayout::kNone, 0, kVecDim);
  whole.EnableHeads(codec);
  std::vector<int64_t> ids(30);
  for (int64_t i = 0; i < 30; ++i) ids[i] = i;
  whole.SetOwned(0, ids, {},
                 std::vector<float>(vecs.begin(), vecs.begin() + 30 * kVecDim));
  auto keep = std::make_shared<std::vector<float>>(vecs);
  whole.SetView(1, 30, ids.data(), nullptr, keep->data() + 30 * kVecDim, keep);
  ExpectHeadsInStep(whole, codec);
}

INSTANTIATE_TEST_SUITE_P(HeadCodecTest, InvertedListHeadsTest,
                         ::testing::Bool(), [](const auto& info) {
                           return info.param ? "WithTails" : "HeadsOnly";
                         });

}  // namespace
}  // namespace vindex::internal
