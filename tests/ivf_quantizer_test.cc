#include "vindex/ivf_quantizer.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"

namespace vindex {
namespace {

constexpr int kDim = 12;

TEST(IvfQuantizerTest, TrainingWithTrainedCentroidsGivesTheSameIndex) {
  const int64_t n = 1500;
  const std::vector<float> x = testing::ClusteredVectors(n, kDim, 6, 3);
  MatrixView<const float> all(x.data(), n, kDim);
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    for (bool pq : {false, true}) {
      IvfCommonOptions ivf{.dim = kDim, .metric = metric, .nlist = 10};
      IndexSpec spec = pq ? IndexSpec(IvfPqOptions{.ivf = ivf, .pq_m = 4})
                          : IndexSpec(IvfFlatOptions{.ivf = ivf});
      auto trained = MakeIndex(spec);
      auto given = MakeIndex(spec);
      ASSERT_TRUE(trained.ok() && given.ok());
      ASSERT_TRUE((*trained)->Train(all).ok());
      auto centroids = IvfCentroids(**trained);
      ASSERT_TRUE(centroids.ok());
      ASSERT_EQ(centroids->size(), 10u * kDim);
      ASSERT_TRUE(TrainIvfWithCentroids(
                      **given,
                      MatrixView<const float>(centroids->data(), 10, kDim), all)
                      .ok());
      std::vector<int32_t> a(n), b(n);
      ASSERT_TRUE(AssignIvfLists(**trained, all, absl::MakeSpan(a)).ok());
      ASSERT_TRUE(AssignIvfLists(**given, all, absl::MakeSpan(b)).ok());
      EXPECT_EQ(a, b);
      // Identical indexes save identical bytes.
      std::vector<int64_t> ids = testing::SequentialIds(n);
      ASSERT_TRUE((*trained)->Add(all, ids).ok());
      ASSERT_TRUE((*given)->Add(all, ids).ok());
      std::string s1, s2;
      StringWriter w1(&s1), w2(&s2);
      ASSERT_TRUE((*trained)->Save(w1).ok());
      ASSERT_TRUE((*given)->Save(w2).ok());
      EXPECT_EQ(s1, s2) << MetricName(metric) << " pq " << pq;
    }
  }
}

TEST(IvfQuantizerTest, ErrorsLeaveTheIndexUntrained) {
  auto flat = MakeIndex(FlatOptions{.dim = kDim});
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(IvfCentroids(**flat).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto ivf = MakeIndex(IvfFlatOptions{.ivf = {.dim = kDim, .nlist = 4}});
  ASSERT_TRUE(ivf.ok());
  EXPECT_EQ(IvfCentroids(**ivf).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::vector<float> c(3 * kDim, 1.0f);
  EXPECT_EQ(TrainIvfWithCentroids(
                **ivf, MatrixView<const float>(c.data(), 3, kDim), {})
                .code(),
            absl::StatusCode::kInvalidArgument);  // 3 != nlist.
  c.resize(4 * kDim, 1.0f);
  c[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(TrainIvfWithCentroids(
                **ivf, MatrixView<const float>(c.data(), 4, kDim), {})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE((*ivf)->info().trained);
  std::vector<int32_t> lists(1);
  EXPECT_EQ(
      AssignIvfLists(**ivf, MatrixView<const float>(c.data() + kDim, 1, kDim),
                     absl::MakeSpan(lists))
          .code(),
      absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vindex
