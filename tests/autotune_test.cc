#include <cstdio>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"
#include "vindex/index.h"
#include "vindex/tune.h"

namespace vindex {
namespace {

constexpr int kDim = 32;
constexpr int kK = 10;

struct Data {
  std::vector<float> base;
  std::vector<int64_t> ids;
  std::vector<float> queries;
  std::vector<int64_t> truth;  // nq x kK
  int64_t nq = 0;
};

Data MakeData(int64_t n, int64_t nq) {
  Data d;
  // Base and queries drawn from the same clusters (queries: another seed
  // over the same centres is not available, so split one draw).
  std::vector<float> all = testing::ClusteredVectors(n + nq, kDim, 50, 7);
  d.base.assign(all.begin(), all.begin() + n * kDim);
  d.queries.assign(all.begin() + n * kDim, all.end());
  d.ids = testing::SequentialIds(n);
  d.nq = nq;
  d.truth =
      testing::BruteForce(d.base, d.ids, d.queries, kDim, kK, Metric::kL2).ids;
  return d;
}

double RecallWith(const Index& index, const Data& d, const SearchParams& p) {
  testing::SearchResult r = testing::RunSearch(index, d.queries, kDim, p);
  EXPECT_TRUE(r.status.ok()) << r.status;
  return testing::RecallAtK(d.truth, kK, r.ids, p.k, kK);
}

void CheckTuned(const Index& index, const Data& d, double target,
                bool ef_knob) {
  TuneOptions options;
  options.k = kK;
  options.target_recall = target;
  options.groundtruth = MatrixView<const int64_t>(d.truth.data(), d.nq, kK);
  options.min_seconds_per_point = 0;
  auto result = Tune(index, {d.queries.data(), d.nq, kDim}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->reached);
  EXPECT_FALSE(result->tried.empty());
  const SearchParams best = result->best.params;
  std::printf("target %.2f: nprobe=%d ef=%d recall=%.4f after %zu points\n",
              target, best.nprobe, best.ef, result->best.recall,
              result->tried.size());
  EXPECT_GE(result->best.recall, target);
  EXPECT_GT(result->best.qps, 0);
  // The chosen knobs reach the target when searched again ...
  EXPECT_GE(RecallWith(index, d, best), target);
  // ... and the next smaller knob does not.
  SearchParams smaller = best;
  if (ef_knob) {
    if (best.ef > kK) {
      smaller.ef = best.ef - 1;
      EXPECT_LT(RecallWith(index, d, smaller), target) << "ef " << best.ef;
    }
  } else if (best.nprobe > 1) {
    smaller.nprobe = best.nprobe - 1;
    EXPECT_LT(RecallWith(index, d, smaller), target)
        << "nprobe " << best.nprobe;
  }
}

TEST(AutotuneTest, IvfFlatReachesTargetWithSmallestNprobe) {
  Data d = MakeData(20000, 300);
  auto index = MakeIndex("IVF128,Flat", kDim, Metric::kL2);
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_TRUE((*index)->Train({d.base.data(), 20000, kDim}).ok());
  ASSERT_TRUE((*index)->Add({d.base.data(), 20000, kDim}, d.ids).ok());
  for (double target : {0.8, 0.95, 0.99}) {
    SCOPED_TRACE(target);
    CheckTuned(**index, d, target, /*ef_knob=*/false);
  }
}

TEST(AutotuneTest, HnswReachesTargetWithSmallestEf) {
  Data d = MakeData(8000, 300);
  auto index = MakeIndex("HNSW8", kDim, Metric::kL2);
  ASSERT_TRUE(index.ok()) << index.status();
  ThreadPool pool(2);
  ASSERT_TRUE((*index)->Add({d.base.data(), 8000, kDim}, d.ids, &pool).ok());
  for (double target : {0.9, 0.98}) {
    SCOPED_TRACE(target);
    CheckTuned(**index, d, target, /*ef_knob=*/true);
  }
}

TEST(AutotuneTest, IvfPqRerankPicksAFactor) {
  Data d = MakeData(20000, 200);
  auto index = MakeIndex("IVF64,PQ8,Rerank", kDim, Metric::kL2);
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_TRUE((*index)->Train({d.base.data(), 20000, kDim}).ok());
  ASSERT_TRUE((*index)->Add({d.base.data(), 20000, kDim}, d.ids).ok());
  TuneOptions options;
  options.k = kK;
  options.target_recall = 0.9;
  options.groundtruth = MatrixView<const int64_t>(d.truth.data(), d.nq, kK);
  options.min_seconds_per_point = 0;
  auto result = Tune(**index, {d.queries.data(), d.nq, kDim}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->reached);
  EXPECT_GE(result->best.params.rerank_factor, 1);
  EXPECT_GE(RecallWith(**index, d, result->best.params), 0.9);
  EXPECT_EQ(KnobsString(**index, result->best.params).rfind("nprobe=", 0), 0u);
}

TEST(AutotuneTest, UnreachableTargetReportsBestRecall) {
  Data d = MakeData(10000, 100);
  auto index = MakeIndex("IVF32,PQ4", kDim, Metric::kL2);  // Coarse codes.
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_TRUE((*index)->Train({d.base.data(), 10000, kDim}).ok());
  ASSERT_TRUE((*index)->Add({d.base.data(), 10000, kDim}, d.ids).ok());
  TuneOptions options;
  options.target_recall = 0.999;
  options.groundtruth = MatrixView<const int64_t>(d.truth.data(), d.nq, kK);
  options.min_seconds_per_point = 0;
  auto r = Tune(**index, {d.queries.data(), d.nq, kDim}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->reached);
  EXPECT_LT(r->best.recall, 0.999);
  for (const TunePoint& p : r->tried) EXPECT_LE(p.recall, r->best.recall);
}

TEST(AutotuneTest, BaseVectorsInsteadOfGroundTruth) {
  Data d = MakeData(5000, 100);
  auto index = MakeIndex("IVF32,Flat", kDim, Metric::kL2);
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE((*index)->Train({d.base.data(), 5000, kDim}).ok());
  ASSERT_TRUE((*index)->Add({d.base.data(), 5000, kDim}, d.ids).ok());
  TuneOptions with_truth;
  with_truth.groundtruth = MatrixView<const int64_t>(d.truth.data(), d.nq, kK);
  with_truth.min_seconds_per_point = 0;
  TuneOptions with_base;
  with_base.base = MatrixView<const float>(d.base.data(), 5000, kDim);
  with_base.min_seconds_per_point = 0;
  MatrixView<const float> q(d.queries.data(), d.nq, kDim);
  auto a = Tune(**index, q, with_truth);
  auto b = Tune(**index, q, with_base);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->best.params.nprobe, b->best.params.nprobe);
  EXPECT_DOUBLE_EQ(a->best.recall, b->best.recall);
}

TEST(AutotuneTest, FlatHasNoKnobsAndBadOptionsFail) {
  Data d = MakeData(2000, 50);
  auto index = MakeIndex("Flat", kDim, Metric::kL2);
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE((*index)->Add({d.base.data(), 2000, kDim}, d.ids).ok());
  MatrixView<const float> q(d.queries.data(), d.nq, kDim);
  TuneOptions options;
  options.groundtruth = MatrixView<const int64_t>(d.truth.data(), d.nq, kK);
  options.min_seconds_per_point = 0;
  auto r = Tune(**index, q, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->reached);
  EXPECT_EQ(r->tried.size(), 1u);
  EXPECT_NEAR(r->best.recall, 1.0, 1e-9);
  EXPECT_EQ(KnobsString(**index, r->best.params), "-");

  TuneOptions none;  // Neither ground truth nor base.
  EXPECT_EQ(Tune(**index, q, none).status().code(),
            absl::StatusCode::kInvalidArgument);
  TuneOptions bad = options;
  bad.target_recall = 1.5;
  EXPECT_EQ(Tune(**index, q, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = options;
  bad.k = 20;  // More than the ground truth has.
  EXPECT_EQ(Tune(**index, q, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  MatrixView<const float> wrong_dim(d.queries.data(), 10, kDim / 2);
  EXPECT_EQ(Tune(**index, wrong_dim, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vindex
