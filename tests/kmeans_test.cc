#include "train/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "linalg/gemm.h"
#include "test_util.h"
#include "vindex/executor.h"

namespace vindex::train {
namespace {

using testing::ClusteredVectors;
using testing::RandomVectors;

TEST(KMeansTest, SameSeedSameResultWhateverTheThreadCount) {
  const int d = 24, n = 3000;
  std::vector<float> x = ClusteredVectors(n, d, 20, 5);
  KMeansOptions o{
      .k = 32, .iterations = 6, .max_points_per_centroid = 64, .seed = 77};
  auto a = KMeans(MatrixView<const float>(x.data(), n, d), o, nullptr);
  ThreadPool two(2), three(3);
  auto b = KMeans(MatrixView<const float>(x.data(), n, d), o, &two);
  auto c = KMeans(MatrixView<const float>(x.data(), n, d), o, &three);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->centroids, b->centroids);
  EXPECT_EQ(a->centroids, c->centroids);
  EXPECT_EQ(a->objective, b->objective);
  // Subsampled to k * max_points_per_centroid.
  EXPECT_EQ(a->points_used, 32 * 64);
  o.seed = 78;
  auto other = KMeans(MatrixView<const float>(x.data(), n, d), o, nullptr);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(a->centroids, other->centroids);
}

TEST(KMeansTest, FindsSeparatedClustersAndReportsProgress) {
  // 8 tight clusters far apart: every true centre gets a centroid nearby.
  const int d = 16, n = 4000, k = 8;
  std::vector<float> x = ClusteredVectors(n, d, k, 11, /*sigma=*/0.01f);
  std::vector<double> objectives;
  KMeansOptions o{.k = k, .iterations = 15, .seed = 3};
  o.progress = [&](int it, double obj) {
    EXPECT_EQ(it, static_cast<int>(objectives.size()) + 1);
    objectives.push_back(obj);
  };
  auto r = KMeans(MatrixView<const float>(x.data(), n, d), o);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(objectives.size(), 15u);
  EXPECT_LE(objectives.back(), objectives.front());
  // Every point is close to some centroid (sigma 0.01 per coordinate gives a
  // squared distance of about d * 1e-4).
  const double mean = r->objective / n;
  EXPECT_LT(mean, 16 * 1e-4 * 3) << "k-means missed a cluster";
}

TEST(KMeansTest, RepairsEmptyClusters) {
  // 200 points on only 3 distinct positions and k = 12: most initial
  // centroids coincide, so clusters empty out and must be split again.
  const int d = 4, n = 200, k = 12;
  std::vector<float> x(n * d);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j)
      x[i * d + j] = static_cast<float>((i % 3) * 10 + j);
  }
  auto r = KMeans(MatrixView<const float>(x.data(), n, d),
                  {.k = k, .iterations = 5, .seed = 1});
  ASSERT_TRUE(r.ok());
  for (float v : r->centroids) ASSERT_TRUE(std::isfinite(v));
  // Every position keeps a centroid (a missed one would cost ~100 per point);
  // what remains is the nudge that separates split clusters.
  EXPECT_LT(r->objective, 1.0);
}

TEST(KMeansTest, RejectsBadArguments) {
  std::vector<float> x = RandomVectors(10, 4, 1);
  MatrixView<const float> v(x.data(), 10, 4);
  EXPECT_EQ(KMeans(v, {.k = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KMeans(v, {.k = 11}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KMeans(v, {.k = 2, .iterations = -1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// d 13 takes the table-kernel path (<= 16 dimensions), d 40 the GEMM path,
// where k spans two centroid tiles.
class AssignNearestTest : public ::testing::TestWithParam<int> {};

TEST_P(AssignNearestTest, MatchesDoubleReference) {
  const int d = GetParam(), n = 700, k = 1500;
  std::vector<float> x = RandomVectors(n, d, 2);
  std::vector<float> c = RandomVectors(k, d, 3);
  // A copy of centroid 10 at 1400: its points must keep the first one.
  std::copy_n(c.begin() + 10 * d, d, c.begin() + 1400 * d);
  std::copy_n(c.begin() + 10 * d, d, x.begin());  // Point 0 sits on it.
  std::vector<float> norms(k);
  linalg::RowSquaredNorms(c.data(), k, d, d, norms.data());
  std::vector<int32_t> assign(n);
  std::vector<float> dist(n);
  ThreadPool pool(2);
  AssignNearest(c.data(), norms.data(), k,
                MatrixView<const float>(x.data(), n, d), assign.data(),
                dist.data(), &pool);
  for (int i = 0; i < n; ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (int j = 0; j < k; ++j) {
      double s = 0;
      for (int t = 0; t < d; ++t) {
        const double diff = double{x[i * d + t]} - c[j * d + t];
        s += diff * diff;
      }
      best = std::min(best, s);
    }
    double mine = 0;
    for (int t = 0; t < d; ++t) {
      const double diff = double{x[i * d + t]} - c[assign[i] * d + t];
      mine += diff * diff;
    }
    EXPECT_NEAR(mine, best, 1e-4) << "point " << i;
    EXPECT_NEAR(dist[i], best, 1e-3) << "point " << i;
    EXPECT_NE(assign[i], 1400) << "point " << i << ": tie not to the first";
  }
  EXPECT_EQ(assign[0], 10);
}

TEST_P(AssignNearestTest, InnerProductPicksLargestProduct) {
  const int d = GetParam(), n = 300, k = 40;
  std::vector<float> x = RandomVectors(n, d, 4);
  std::vector<float> c = RandomVectors(k, d, 5);
  std::vector<int32_t> assign(n);
  AssignNearest(c.data(), nullptr, k, MatrixView<const float>(x.data(), n, d),
                assign.data(), nullptr, nullptr);
  for (int i = 0; i < n; ++i) {
    double best = -1e300, mine = 0;
    for (int j = 0; j < k; ++j) {
      double s = 0;
      for (int t = 0; t < d; ++t) s += double{x[i * d + t]} * c[j * d + t];
      best = std::max(best, s);
      if (j == assign[i]) mine = s;
    }
    EXPECT_NEAR(mine, best, 1e-5) << "point " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Dims, AssignNearestTest, ::testing::Values(13, 40));

TEST(KMeansTest, UniformSeedsFollowTheDensity) {
  // 5% of the points are far out: uniform seeds put about 5% of the
  // centroids there (20 of 400). k-means++ takes nearly every far point of
  // its 4-per-centroid sample first, about four times their share.
  const int d = 8, n = 20000, k = 400;
  const std::vector<float> x = testing::CoreAndFarVectors(n, d, 5);
  MatrixView<const float> all(x.data(), n, d);
  KMeansOptions o{.k = k, .iterations = 0, .seed = 9};
  o.seeding = KMeansOptions::Seeding::kUniform;
  auto uniform = KMeans(all, o);
  o.seeding = KMeansOptions::Seeding::kPlusPlus;
  auto plus_plus = KMeans(all, o);
  ASSERT_TRUE(uniform.ok() && plus_plus.ok());
  EXPECT_LT(testing::CountFarRows(uniform->centroids, d), 40);
  EXPECT_GT(testing::CountFarRows(plus_plus->centroids, d), 50);
}

TEST(KMeansTest, UniformSeedsAreReproducibleAndDistinct) {
  const int d = 6, n = 500, k = 50;
  const std::vector<float> x = RandomVectors(n, d, 8);
  MatrixView<const float> all(x.data(), n, d);
  KMeansOptions o{.k = k, .iterations = 0, .seed = 4};
  o.seeding = KMeansOptions::Seeding::kUniform;
  auto a = KMeans(all, o);
  auto b = KMeans(all, o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->centroids, b->centroids);
  // With no iterations the centroids are the seeds: k distinct data points.
  std::vector<std::vector<float>> seeds;
  for (int c = 0; c < k; ++c) {
    seeds.emplace_back(a->centroids.begin() + c * d,
                       a->centroids.begin() + (c + 1) * d);
    bool found = false;
    for (int i = 0; i < n && !found; ++i)
      found = std::equal(seeds.back().begin(), seeds.back().end(),
                         x.begin() + i * d);
    EXPECT_TRUE(found) << "seed " << c << " is not a data point";
  }
  std::sort(seeds.begin(), seeds.end());
  EXPECT_EQ(std::adjacent_find(seeds.begin(), seeds.end()), seeds.end());
}

TEST(KMeansTest, InnerProductKMeansIsReproducible) {
  const int d = 9, n = 300;
  std::vector<float> x = RandomVectors(n, d, 4);
  KMeansOptions o{.k = 8, .iterations = 4, .seed = 2};
  o.inner_product = true;
  auto a = KMeans(MatrixView<const float>(x.data(), n, d), o);
  auto b = KMeans(MatrixView<const float>(x.data(), n, d), o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->centroids, b->centroids);
}

}  // namespace
}  // namespace vindex::train
