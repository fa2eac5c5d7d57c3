#include "vindex/ivf_quantizer.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "index/leading_axes.h"
#include "kernels/kernels.h"
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

TEST(IvfQuantizerTest, AddingWithKnownListsGivesAddsIndex) {
  const int64_t n = 1200;
  const std::vector<float> x = testing::ClusteredVectors(n, kDim, 6, 5);
  MatrixView<const float> all(x.data(), n, kDim);
  const std::vector<int64_t> ids = testing::SequentialIds(n);
  for (bool pq : {false, true}) {
    IvfCommonOptions ivf{.dim = kDim, .metric = Metric::kCosine, .nlist = 8};
    IndexSpec spec = pq ? IndexSpec(IvfPqOptions{.ivf = ivf, .pq_m = 4})
                        : IndexSpec(IvfFlatOptions{.ivf = ivf});
    auto added = MakeIndex(spec);
    auto given = MakeIndex(spec);
    ASSERT_TRUE(added.ok() && given.ok());
    ASSERT_TRUE((*added)->Train(all).ok());
    auto centroids = IvfCentroids(**added);
    ASSERT_TRUE(centroids.ok());
    ASSERT_TRUE(
        TrainIvfWithCentroids(
            **given, MatrixView<const float>(centroids->data(), 8, kDim), all)
            .ok());
    std::vector<int32_t> lists(n);
    ASSERT_TRUE(AssignIvfLists(**added, all, absl::MakeSpan(lists)).ok());
    ASSERT_TRUE((*added)->Add(all, ids).ok());
    // A bad list fails and adds nothing; then the real lists give Add's
    // index, byte for byte.
    std::vector<int32_t> bad = lists;
    bad[7] = 8;
    EXPECT_EQ(AddIvfWithLists(**given, all, ids, bad).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(AddIvfWithLists(**given, all, ids,
                              absl::MakeConstSpan(lists).subspan(1))
                  .code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ((*given)->info().size, 0);
    ASSERT_TRUE(AddIvfWithLists(**given, all, ids, lists).ok());
    std::string s1, s2;
    StringWriter w1(&s1), w2(&s2);
    ASSERT_TRUE((*added)->Save(w1).ok());
    ASSERT_TRUE((*given)->Save(w2).ok());
    EXPECT_EQ(s1, s2) << "pq " << pq;
  }
  auto flat = MakeIndex(FlatOptions{.dim = kDim});
  ASSERT_TRUE(flat.ok());
  std::vector<int32_t> one(1, 0);
  EXPECT_EQ(AddIvfWithLists(**flat, MatrixView<const float>(x.data(), 1, kDim),
                            {int64_t{0}}, one)
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// Probe, then scan: Search's answers, at batch sizes on either side of the
// batched list scan; with the probes split in two halves (others -1), the
// merged halves are Search's answers too (distances bit for bit).
TEST(IvfQuantizerTest, ProbedSearchEqualsSearchAndSplitsByList) {
  const int64_t n = 2000;
  const std::vector<float> x = testing::ClusteredVectors(n, kDim, 6, 7);
  MatrixView<const float> all(x.data(), n, kDim);
  const std::vector<float> qv = testing::ClusteredVectors(200, kDim, 6, 8);
  for (bool pq : {false, true}) {
    IvfCommonOptions ivf{.dim = kDim, .nlist = 16, .default_nprobe = 4};
    IndexSpec spec = pq ? IndexSpec(IvfPqOptions{.ivf = ivf, .pq_m = 4})
                        : IndexSpec(IvfFlatOptions{.ivf = ivf});
    auto index = MakeIndex(spec);
    ASSERT_TRUE(index.ok());
    ASSERT_TRUE((*index)->Train(all).ok());
    ASSERT_TRUE((*index)->Add(all, testing::SequentialIds(n)).ok());
    const int k = 10;
    for (int64_t nq : {int64_t{3}, int64_t{200}}) {
      MatrixView<const float> q(qv.data(), nq, kDim);
      std::vector<int64_t> want_ids(nq * k), got_ids(nq * k);
      std::vector<float> want_d(nq * k), got_d(nq * k);
      const SearchParams params{.k = k};
      ASSERT_TRUE((*index)
                      ->Search(q, params,
                               {MatrixView<int64_t>(want_ids.data(), nq, k),
                                MatrixView<float>(want_d.data(), nq, k)})
                      .ok());
      std::vector<int64_t> probe;
      std::vector<float> coarse;
      int np = 0;
      ASSERT_TRUE(ProbeIvfLists(**index, q, 0, &probe, &coarse, &np).ok());
      ASSERT_EQ(np, 4);
      ASSERT_TRUE(
          SearchIvfProbedLists(**index, q, probe, coarse, np, params,
                               {MatrixView<int64_t>(got_ids.data(), nq, k),
                                MatrixView<float>(got_d.data(), nq, k)})
              .ok());
      EXPECT_EQ(got_ids, want_ids) << "pq " << pq << " nq " << nq;
      EXPECT_EQ(std::memcmp(got_d.data(), want_d.data(), nq * k * 4), 0);
      if (pq) continue;  // The split below is checked on exact distances.
      // Lists < 8 in one half, the rest in the other: merged, Search's.
      std::vector<int64_t> halves[2] = {probe, probe};
      for (size_t i = 0; i < probe.size(); ++i) {
        halves[probe[i] < 8 ? 1 : 0][i] = -1;
      }
      std::vector<int64_t> part_ids[2];
      std::vector<float> part_d[2];
      for (int h = 0; h < 2; ++h) {
        part_ids[h].resize(nq * k);
        part_d[h].resize(nq * k);
        ASSERT_TRUE(SearchIvfProbedLists(
                        **index, q, halves[h], coarse, np, params,
                        {MatrixView<int64_t>(part_ids[h].data(), nq, k),
                         MatrixView<float>(part_d[h].data(), nq, k)})
                        .ok());
      }
      for (int64_t i = 0; i < nq; ++i) {
        std::vector<std::pair<float, int64_t>> merged;
        for (int h = 0; h < 2; ++h) {
          for (int j = 0; j < k; ++j) {
            if (part_ids[h][i * k + j] >= 0)
              merged.push_back({part_d[h][i * k + j], part_ids[h][i * k + j]});
          }
        }
        std::sort(merged.begin(), merged.end());
        ASSERT_GE(merged.size(), static_cast<size_t>(k));
        for (int j = 0; j < k; ++j) {
          EXPECT_EQ(merged[j].second, want_ids[i * k + j]) << i << " " << j;
          EXPECT_EQ(std::memcmp(&merged[j].first, &want_d[i * k + j], 4), 0);
        }
      }
    }
  }
  // Bad probes are refused.
  auto index = MakeIndex(IvfFlatOptions{.ivf = {.dim = kDim, .nlist = 4}});
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE((*index)->Train(all).ok());
  std::vector<int64_t> probe = {9};
  std::vector<float> coarse = {0.0f};
  int64_t id = 0;
  float d = 0;
  EXPECT_EQ(SearchIvfProbedLists(
                **index, MatrixView<const float>(qv.data(), 1, kDim), probe,
                coarse, 1, SearchParams{.k = 1},
                {MatrixView<int64_t>(&id, 1, 1), MatrixView<float>(&d, 1, 1)})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ProbeIvfLists(**index, MatrixView<const float>(qv.data(), 1, kDim),
                          -1, &probe, &coarse, nullptr)
                .code(),
            absl::StatusCode::kInvalidArgument);
  // The resolved nprobe is optional; the outputs are not.
  EXPECT_TRUE(ProbeIvfLists(**index,
                            MatrixView<const float>(qv.data(), 1, kDim), 2,
                            &probe, &coarse, nullptr)
                  .ok());
  EXPECT_EQ(probe.size(), 2u);
  EXPECT_EQ(ProbeIvfLists(**index, MatrixView<const float>(qv.data(), 1, kDim),
                          2, nullptr, &coarse, nullptr)
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ProbeIvfLists(**index, MatrixView<const float>(qv.data(), 1, kDim),
                          2, &probe, nullptr, nullptr)
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// Behind a rotation the centroids of 256 or more dimensions keep coded
// heads, which the one-query coarse step reads first (past its first block
// of centroids): the probes and their scores must be those of the same index
// without them, bit for bit, for every family and metric; shorter centroids
// keep none.
TEST(IvfQuantizerTest, CentroidHeadsChangeNoProbe) {
  constexpr int64_t kN = 3000, kNq = 40;
  constexpr int kNlist = 128;
  for (int dim : {100, 272, 300}) {
    const std::vector<float> x = testing::RotatedLike(
        testing::ClusteredVectors(kN, dim, 40, 11), dim, 10.0f);
    const std::vector<float> qv = testing::RotatedLike(
        testing::ClusteredVectors(kNq, dim, 40, 12), dim, 10.0f);
    const MatrixView<const float> all(x.data(), kN, dim);
    for (Metric metric :
         {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
      for (bool pq : {false, true}) {
        IvfCommonOptions ivf{.dim = dim, .metric = metric, .nlist = kNlist};
        IndexSpec spec = pq ? IndexSpec(IvfPqOptions{.ivf = ivf, .pq_m = 4})
                            : IndexSpec(IvfFlatOptions{.ivf = ivf});
        auto plain = MakeIndex(spec);
        auto headed = MakeIndex(spec);
        ASSERT_TRUE(plain.ok() && headed.ok());
        ASSERT_TRUE((*plain)->Train(all).ok());
        auto centroids = IvfCentroids(**plain);
        ASSERT_TRUE(centroids.ok());
        ASSERT_TRUE(TrainIvfWithCentroids(
                        **headed,
                        MatrixView<const float>(centroids->data(), kNlist, dim),
                        all)
                        .ok());
        auto* hint = dynamic_cast<internal::LeadingAxesFirst*>(&**headed);
        ASSERT_NE(hint, nullptr);
        hint->SetLeadingAxesFirst();
        // The heads cost kCodedHeadDim bytes and a float per centroid.
        const int64_t heads_bytes =
            static_cast<size_t>(dim) >= kernels::kBoundedMinDim
                ? kNlist * (kernels::kCodedHeadDim + sizeof(float))
                : 0;
        EXPECT_GE((*headed)->info().memory_bytes,
                  (*plain)->info().memory_bytes + heads_bytes);
        for (int nprobe : {1, 8, 40}) {
          for (int64_t q = 0; q < kNq; ++q) {
            const MatrixView<const float> one(qv.data() + q * dim, 1, dim);
            std::vector<int64_t> want_probe, got_probe;
            std::vector<float> want_coarse, got_coarse;
            int resolved = 0;
            ASSERT_TRUE(ProbeIvfLists(**plain, one, nprobe, &want_probe,
                                      &want_coarse, &resolved)
                            .ok());
            ASSERT_TRUE(ProbeIvfLists(**headed, one, nprobe, &got_probe,
                                      &got_coarse, &resolved)
                            .ok());
            ASSERT_EQ(got_probe, want_probe)
                << "dim " << dim << " metric " << MetricName(metric) << " pq "
                << pq << " nprobe " << nprobe << " query " << q;
            ASSERT_EQ(std::memcmp(got_coarse.data(), want_coarse.data(),
                                  nprobe * sizeof(float)),
                      0)
                << "dim " << dim << " metric " << MetricName(metric) << " pq "
                << pq << " nprobe " << nprobe << " query " << q;
          }
        }
      }
    }
  }
}

TEST(IvfQuantizerTest, CoarseSeedsFollowTheDensity) {
  // Every 20th vector lies far out (1000 times the spread of the rest). The
  // coarse k-means seeds uniformly, so with no Lloyd iterations about 5% of
  // the lists start out there (20 of 400); k-means++ seeds put about 20%
  // there (kmeans_test.cc).
  const int d = 8, nlist = 400;
  const int64_t n = 20000;
  const std::vector<float> x = testing::CoreAndFarVectors(n, d, 5);
  MatrixView<const float> all(x.data(), n, d);
  for (bool pq : {false, true}) {
    IvfCommonOptions ivf{.dim = d, .nlist = nlist, .kmeans_iterations = 0};
    IndexSpec spec = pq ? IndexSpec(IvfPqOptions{.ivf = ivf, .pq_m = 4})
                        : IndexSpec(IvfFlatOptions{.ivf = ivf});
    auto index = MakeIndex(spec);
    ASSERT_TRUE(index.ok());
    ASSERT_TRUE((*index)->Train(all).ok());
    auto centroids = IvfCentroids(**index);
    ASSERT_TRUE(centroids.ok());
    EXPECT_LT(testing::CountFarRows(*centroids, d), 40) << (pq ? "PQ" : "Flat");
  }
}

}  // namespace
}  // namespace vindex
