#include <atomic>
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "index/ivf/ivf_flat_index.h"
#include "test_util.h"
#include "vindex/filter.h"
#include "vindex/index.h"

namespace vindex {
namespace {

using testing::BruteForce;
using testing::ClusteredVectors;
using testing::RecallAtK;
using testing::RunSearch;
using testing::SequentialIds;

constexpr int kDim = 24;
constexpr int kNlist = 32;
constexpr int64_t kBase = 6000;
constexpr int64_t kQueries = 100;

struct Fixture {
  std::vector<float> base, queries;
  std::vector<int64_t> ids;
  std::unique_ptr<Index> index;
};

Fixture Build(Metric metric, Executor* ex = nullptr) {
  Fixture f;
  f.base = ClusteredVectors(kBase, kDim, 40, 1);
  f.queries = ClusteredVectors(kQueries, kDim, 40, 2);
  // Ids that are not row numbers (and some negative) catch id/row mix-ups.
  f.ids = SequentialIds(kBase, -3000);
  for (auto& id : f.ids) id = id * 7 + (id == 0 ? 0 : 1);
  auto made = MakeIndex(
      IvfFlatOptions{.ivf = {.dim = kDim, .metric = metric, .nlist = kNlist}});
  EXPECT_TRUE(made.ok()) << made.status();
  f.index = std::move(*made);
  EXPECT_TRUE(
      f.index->Train(MatrixView<const float>(f.base.data(), kBase, kDim), ex)
          .ok());
  EXPECT_TRUE(
      f.index
          ->Add(MatrixView<const float>(f.base.data(), kBase, kDim), f.ids, ex)
          .ok());
  return f;
}

class IvfFlatMetricTest : public ::testing::TestWithParam<Metric> {};

TEST_P(IvfFlatMetricTest, RecallAgainstBruteForce) {
  const Metric metric = GetParam();
  ThreadPool pool(2);
  Fixture f = Build(metric, &pool);
  EXPECT_EQ(f.index->info().size, kBase);
  EXPECT_EQ(f.index->info().description, "IVF32,Flat");
  auto truth = BruteForce(f.base, f.ids, f.queries, kDim, 10, metric);
  // Floors: nprobe 4 of 32 lists on 40-cluster data >= 0.75; nprobe 12
  // >= 0.97; all lists = exact search (>= 0.99, float vs double ties only).
  const std::pair<int, double> floors[] = {
      {4, 0.75}, {12, 0.97}, {kNlist, 0.99}};
  for (auto [nprobe, floor] : floors) {
    auto r = RunSearch(*f.index, f.queries, kDim, {.k = 10, .nprobe = nprobe},
                       &pool);
    ASSERT_TRUE(r.status.ok()) << r.status;
    const double recall = RecallAtK(truth.ids, 10, r.ids, 10, 10);
    EXPECT_GE(recall, floor) << "nprobe " << nprobe;
  }
  // Exhaustive probing returns the true distances in natural units.
  auto r = RunSearch(*f.index, f.queries, kDim, {.k = 10, .nprobe = kNlist});
  for (int q = 0; q < kQueries; ++q) {
    EXPECT_NEAR(r.distances[q * 10], truth.distances[q * 10],
                1e-3 * (1 + std::fabs(truth.distances[q * 10])));
  }
}

INSTANTIATE_TEST_SUITE_P(Metrics, IvfFlatMetricTest,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct,
                                           Metric::kCosine));

TEST(IvfFlatTest, SingleThreadAndPoolAgree) {
  Fixture f = Build(Metric::kL2);
  ThreadPool pool(3);
  auto a = RunSearch(*f.index, f.queries, kDim, {.k = 7, .nprobe = 5});
  auto b = RunSearch(*f.index, f.queries, kDim, {.k = 7, .nprobe = 5}, &pool);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.distances, b.distances);
}

// Large batches scan each list once for all its queries (GEMM); results
// match one-query searches (same ids, distances up to rounding), with and
// without a pool, for every metric.
TEST(IvfFlatTest, BatchScanMatchesOneQueryAtATime) {
  for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kInnerProduct}) {
    Fixture f = Build(metric);
    ThreadPool pool(3);
    for (int nprobe : {4, 12}) {
      SearchParams p{.k = 10, .nprobe = nprobe};
      auto batch = RunSearch(*f.index, f.queries, kDim, p);
      auto pooled = RunSearch(*f.index, f.queries, kDim, p, &pool);
      ASSERT_TRUE(batch.status.ok()) << batch.status;
      EXPECT_EQ(batch.ids, pooled.ids);
      EXPECT_EQ(batch.distances, pooled.distances);
      for (int64_t q = 0; q < kQueries; ++q) {
        std::vector<float> one(f.queries.begin() + q * kDim,
                               f.queries.begin() + (q + 1) * kDim);
        auto single = RunSearch(*f.index, one, kDim, p);
        ASSERT_TRUE(single.status.ok());
        for (int j = 0; j < 10; ++j) {
          EXPECT_EQ(single.ids[j], batch.ids[q * 10 + j])
              << MetricName(metric) << " query " << q << " rank " << j;
          EXPECT_NEAR(single.distances[j], batch.distances[q * 10 + j],
                      1e-4f * (1 + std::fabs(single.distances[j])));
        }
      }
    }
  }
}

// A batch whose probed lists are shared by several queries is scanned list
// by list with the multi-query kernels, whose scores are the one-query
// kernels' bit for bit, so the batch returns exactly what the queries return
// one at a time (ids, distances, ties), also after removals moved entries
// inside lists, with and without a pool, for heap-sized and buffer-sized k,
// with lists shared by more queries than one task takes; probing every list,
// it is the brute-force answer.
TEST(IvfFlatTest, SharedListBatchEqualsOneQueryAtATimeExactly) {
  constexpr int64_t kBatch = kQueries + 1;
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    Fixture f = Build(metric);
    std::vector<int64_t> gone;
    for (size_t i = 0; i < f.ids.size(); i += 5) gone.push_back(f.ids[i]);
    ASSERT_TRUE(f.index->Remove(gone).ok());
    absl::flat_hash_set<int64_t> gone_set(gone.begin(), gone.end());
    std::vector<float> rest;
    std::vector<int64_t> rest_ids;
    for (int64_t i = 0; i < kBase; ++i) {
      if (i % 5 == 0) continue;
      rest.insert(rest.end(), f.base.begin() + i * kDim,
                  f.base.begin() + (i + 1) * kDim);
      rest_ids.push_back(f.ids[i]);
    }
    // The batch repeats a query: both copies get the same answer.
    std::vector<float> batch = f.queries;
    batch.insert(batch.end(), f.queries.begin(), f.queries.begin() + kDim);
    ThreadPool pool(3);
    for (int nprobe : {3, 8, kNlist}) {
      for (int k : {1, 10, 50}) {
        SearchParams p{.k = k, .nprobe = nprobe};
        auto all = RunSearch(*f.index, batch, kDim, p);
        auto pooled = RunSearch(*f.index, batch, kDim, p, &pool);
        ASSERT_TRUE(all.status.ok()) << all.status;
        ASSERT_TRUE(pooled.status.ok()) << pooled.status;
        EXPECT_EQ(all.ids, pooled.ids);
        EXPECT_EQ(all.distances, pooled.distances);
        for (int64_t q = 0; q < kBatch; ++q) {
          std::vector<float> one(batch.begin() + q * kDim,
                                 batch.begin() + (q + 1) * kDim);
          auto single = RunSearch(*f.index, one, kDim, p);
          ASSERT_TRUE(single.status.ok());
          for (int j = 0; j < k; ++j) {
            ASSERT_EQ(single.ids[j], all.ids[q * k + j])
                << MetricName(metric) << " nprobe " << nprobe << " k " << k
                << " query " << q << " rank " << j;
            ASSERT_EQ(single.distances[j], all.distances[q * k + j])
                << MetricName(metric) << " nprobe " << nprobe << " k " << k
                << " query " << q << " rank " << j;
            EXPECT_FALSE(gone_set.contains(all.ids[q * k + j]));
          }
        }
        for (int j = 0; j < k; ++j) {
          EXPECT_EQ(all.ids[j], all.ids[(kBatch - 1) * k + j]);
        }
        if (nprobe != kNlist) continue;
        auto truth = BruteForce(rest, rest_ids, batch, kDim, k, metric);
        for (int64_t q = 0; q < kBatch; ++q) {
          for (int j = 0; j < k; ++j) {
            EXPECT_NEAR(all.distances[q * k + j], truth.distances[q * k + j],
                        1e-4f * (1 + std::fabs(truth.distances[q * k + j])))
                << MetricName(metric) << " query " << q << " rank " << j;
          }
        }
        EXPECT_GE(RecallAtK(truth.ids, k, all.ids, k, k), 0.99);
      }
    }
  }
}

// Filters are applied the same way in a batch as one query at a time.
TEST(IvfFlatTest, FilteredBatchEqualsFilteredQueriesOneAtATime) {
  Fixture f = Build(Metric::kL2);
  const IdFilter filter =
      IdFilter::Predicate([](int64_t id) { return id % 3 != 0; });
  ThreadPool pool(2);
  SearchParams p{.k = 10, .filter = &filter, .nprobe = 6};
  auto all = RunSearch(*f.index, f.queries, kDim, p, &pool);
  ASSERT_TRUE(all.status.ok()) << all.status;
  for (int64_t q = 0; q < kQueries; ++q) {
    std::vector<float> one(f.queries.begin() + q * kDim,
                           f.queries.begin() + (q + 1) * kDim);
    auto single = RunSearch(*f.index, one, kDim, p);
    ASSERT_TRUE(single.status.ok());
    for (int j = 0; j < 10; ++j) {
      EXPECT_EQ(single.ids[j], all.ids[q * 10 + j]) << "query " << q;
      EXPECT_EQ(single.distances[j], all.distances[q * 10 + j]);
      if (all.ids[q * 10 + j] != -1) {
        EXPECT_NE(all.ids[q * 10 + j] % 3, 0);
      }
    }
  }
}

TEST(IvfFlatTest, FiltersMatchFilteredBruteForce) {
  Fixture f = Build(Metric::kL2);
  std::vector<int64_t> allowed;
  for (size_t i = 0; i < f.ids.size(); i += 13) allowed.push_back(f.ids[i]);
  absl::flat_hash_set<int64_t> allowed_set(allowed.begin(), allowed.end());
  const IdFilter filters[] = {
      IdFilter::AllowList(allowed), IdFilter::DenyList(allowed),
      IdFilter::Range(-1000, 5000),
      IdFilter::Predicate([](int64_t id) { return id % 3 == 0; })};
  for (const IdFilter& filter : filters) {
    auto truth = BruteForce(f.base, f.ids, f.queries, kDim, 10, Metric::kL2,
                            [&](int64_t id) { return filter.Allows(id); });
    auto r = RunSearch(*f.index, f.queries, kDim,
                       {.k = 10, .filter = &filter, .nprobe = kNlist});
    ASSERT_TRUE(r.status.ok());
    for (int64_t id : r.ids) {
      if (id != -1)
        EXPECT_TRUE(filter.Allows(id)) << "filtered id " << id << " returned";
    }
    EXPECT_GE(RecallAtK(truth.ids, 10, r.ids, 10, 10), 0.99);
  }
}

TEST(IvfFlatTest, RemoveGetVectorsAndAddAgain) {
  Fixture f = Build(Metric::kL2);
  std::vector<int64_t> gone(f.ids.begin(), f.ids.begin() + 2000);
  ASSERT_TRUE(f.index->Remove(gone).ok());
  EXPECT_EQ(f.index->info().size, kBase - 2000);
  absl::flat_hash_set<int64_t> gone_set(gone.begin(), gone.end());
  auto r = RunSearch(*f.index, f.queries, kDim, {.k = 20, .nprobe = kNlist});
  for (int64_t id : r.ids) EXPECT_FALSE(gone_set.contains(id));
  // The survivors are still found exactly.
  std::vector<float> rest(f.base.begin() + 2000 * kDim, f.base.end());
  std::vector<int64_t> rest_ids(f.ids.begin() + 2000, f.ids.end());
  auto truth = BruteForce(rest, rest_ids, f.queries, kDim, 20, Metric::kL2);
  EXPECT_GE(RecallAtK(truth.ids, 20, r.ids, 20, 20), 0.99);
  // Unknown and repeated ids fail and remove nothing.
  EXPECT_EQ(f.index->Remove({gone[0]}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(f.index->Remove({f.ids[3000], f.ids[3000]}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(f.index->Remove({f.ids[3000], gone[1]}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(f.index->info().size, kBase - 2000);
  // GetVectors returns the stored rows.
  std::vector<float> out(2 * kDim);
  ASSERT_TRUE(f.index
                  ->GetVectors({f.ids[2500], f.ids[5999]},
                               MatrixView<float>(out.data(), 2, kDim))
                  .ok());
  for (int j = 0; j < kDim; ++j) {
    EXPECT_EQ(out[j], f.base[2500 * kDim + j]);
    EXPECT_EQ(out[kDim + j], f.base[5999 * kDim + j]);
  }
  // Removed ids may be added again.
  ASSERT_TRUE(
      f.index->Add(MatrixView<const float>(f.base.data(), 2000, kDim), gone)
          .ok());
  EXPECT_EQ(f.index->info().size, kBase);
}

TEST(IvfFlatTest, BadInputAndOrder) {
  auto made = MakeIndex(IvfFlatOptions{.ivf = {.dim = kDim, .nlist = kNlist}});
  ASSERT_TRUE(made.ok());
  Index& index = **made;
  std::vector<float> x = ClusteredVectors(500, kDim, 5, 3);
  std::vector<int64_t> ids = SequentialIds(500);
  MatrixView<const float> xv(x.data(), 500, kDim);
  // Out of order.
  EXPECT_EQ(index.Add(xv, ids).code(), absl::StatusCode::kFailedPrecondition);
  auto r = RunSearch(index, x, kDim, {.k = 3});
  EXPECT_EQ(r.status.code(), absl::StatusCode::kFailedPrecondition);
  // Fewer training points than lists.
  EXPECT_EQ(
      index.Train(MatrixView<const float>(x.data(), kNlist - 1, kDim)).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(index.info().trained);
  // Bad training data.
  std::vector<float> bad = x;
  bad[3 * kDim + 5] = NAN;  // Row 3.
  EXPECT_EQ(index.Train(MatrixView<const float>(bad.data(), 500, kDim)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      index.Train(MatrixView<const float>(x.data(), 500, kDim - 1)).code(),
      absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(index.Train(xv).ok());
  ASSERT_TRUE(index.Add(xv, ids).ok());
  const auto before = RunSearch(index, x, kDim, {.k = 5});
  // Retraining a non-empty index, duplicate ids, NaN, wrong dim, bad k/nprobe.
  EXPECT_EQ(index.Train(xv).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      index.Add(MatrixView<const float>(x.data(), 1, kDim), {ids[4]}).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Add(MatrixView<const float>(x.data(), 2, kDim), {9000, 9000})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      index.Add(MatrixView<const float>(bad.data(), 1, kDim), {9001}).code(),
      absl::StatusCode::kOk);  // Row 0 of bad is finite...
  EXPECT_EQ(index
                .Add(MatrixView<const float>(bad.data() + kDim, 3, kDim),
                     {9002, 9003, 9004})
                .code(),
            absl::StatusCode::kInvalidArgument);  // ...but row 3 is not.
  EXPECT_EQ(RunSearch(index, x, kDim, {.k = 0}).status.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunSearch(index, x, kDim, {.k = 5, .nprobe = -1}).status.code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(index.Remove({9001}).ok());
  // Every failed call above left the index as it was.
  const auto after = RunSearch(index, x, kDim, {.k = 5});
  EXPECT_EQ(before.ids, after.ids);
  EXPECT_EQ(index.info().size, 500);
  // Bad options.
  EXPECT_FALSE(
      MakeIndex(IvfFlatOptions{.ivf = {.dim = kDim, .nlist = 0}}).ok());
  EXPECT_FALSE(MakeIndex(IvfFlatOptions{.ivf = {.dim = 0, .nlist = 4}}).ok());
  EXPECT_FALSE(
      MakeIndex(
          IvfFlatOptions{.ivf = {.dim = 4, .nlist = 4, .default_nprobe = 0}})
          .ok());
}

TEST(IvfFlatTest, SaveLoadRoundTripAndAddAfterLoad) {
  Fixture f = Build(Metric::kCosine);
  std::string bytes;
  StringWriter w(&bytes);
  ASSERT_TRUE(f.index->Save(w).ok());
  MemoryReader r(bytes);
  auto loaded = LoadIndex(r);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->info().description, "IVF32,Flat");
  EXPECT_EQ((*loaded)->info().metric, Metric::kCosine);
  auto a = RunSearch(*f.index, f.queries, kDim, {.k = 10, .nprobe = 6});
  auto b = RunSearch(**loaded, f.queries, kDim, {.k = 10, .nprobe = 6});
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.distances, b.distances);
  // Add after load goes to the same lists as on the original.
  std::vector<float> more = ClusteredVectors(50, kDim, 40, 8);
  std::vector<int64_t> more_ids = SequentialIds(50, 1 << 20);
  ASSERT_TRUE(
      f.index->Add(MatrixView<const float>(more.data(), 50, kDim), more_ids)
          .ok());
  ASSERT_TRUE(
      (*loaded)
          ->Add(MatrixView<const float>(more.data(), 50, kDim), more_ids)
          .ok());
  a = RunSearch(*f.index, more, kDim, {.k = 3, .nprobe = 2});
  b = RunSearch(**loaded, more, kDim, {.k = 3, .nprobe = 2});
  EXPECT_EQ(a.ids, b.ids);
  // An untrained index round-trips too.
  auto empty = MakeIndex("IVF8,Flat", kDim);
  ASSERT_TRUE(empty.ok());
  std::string eb;
  StringWriter ew(&eb);
  ASSERT_TRUE((*empty)->Save(ew).ok());
  MemoryReader er(eb);
  auto el = LoadIndex(er);
  ASSERT_TRUE(el.ok()) << el.status();
  EXPECT_FALSE((*el)->info().trained);
}

// The public training progress callback: once per coarse k-means
// iteration, in order, for every metric, with an objective that does not
// increase on clustered data (L2, cosine).
TEST(IvfFlatTest, TrainingReportsKMeansProgress) {
  const std::vector<float> x = ClusteredVectors(kBase, kDim, 40, 1);
  for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kInnerProduct}) {
    std::vector<std::pair<int, double>> calls;
    IvfFlatOptions o{.ivf = {.dim = kDim,
                             .metric = metric,
                             .nlist = kNlist,
                             .kmeans_iterations = 7}};
    o.ivf.kmeans_progress = [&](int iteration, double objective) {
      calls.emplace_back(iteration, objective);
    };
    auto made = MakeIndex(o);
    ASSERT_TRUE(made.ok());
    ThreadPool pool(2);
    ASSERT_TRUE(
        (*made)
            ->Train(MatrixView<const float>(x.data(), kBase, kDim), &pool)
            .ok());
    ASSERT_EQ(calls.size(), 7u) << MetricName(metric);
    for (size_t i = 0; i < calls.size(); ++i) {
      EXPECT_EQ(calls[i].first, static_cast<int>(i) + 1);
      EXPECT_TRUE(std::isfinite(calls[i].second));
      // Lloyd steps never raise the L2 (or spherical) objective; with inner
      // product the mean update need not lower -sum <x, c>.
      if (i > 0 && metric != Metric::kInnerProduct) {
        EXPECT_LE(calls[i].second,
                  calls[i - 1].second + 1e-6 * std::fabs(calls[i - 1].second))
            << MetricName(metric) << " iteration " << i + 1;
      }
    }
    if (metric != Metric::kInnerProduct) EXPECT_GT(calls.back().second, 0.0);
  }
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A mapped load serves the lists from the file: same results as a copying
// load (filtered too), and Add/Remove copy on write, leaving the file alone.
TEST(IvfFlatTest, ServesFromMappingThenCopiesOnWrite) {
  Fixture f = Build(Metric::kInnerProduct);
  const std::string path = ::testing::TempDir() + "/ivf_flat_mapped.vindex";
  ASSERT_TRUE(SaveIndexToFile(*f.index, path).ok());
  const std::string file_before = ReadFileBytes(path);
  auto copied = LoadIndexFromFile(path);
  auto mapped = LoadIndexFromFile(path, LoadOptions{.memory_map = true});
  ASSERT_TRUE(copied.ok()) << copied.status();
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_FALSE((*copied)->info().memory_mapped);
  EXPECT_TRUE((*mapped)->info().memory_mapped);
  std::vector<int64_t> allowed(f.ids.begin(), f.ids.begin() + kBase / 3);
  IdFilter filter = IdFilter::AllowList(allowed);
  auto same_results = [&](const Index& a, const Index& b) {
    for (const IdFilter* flt : {static_cast<const IdFilter*>(nullptr),
                                static_cast<const IdFilter*>(&filter)}) {
      SearchParams p{.k = 10, .filter = flt, .nprobe = 6};
      auto ra = RunSearch(a, f.queries, kDim, p);
      auto rb = RunSearch(b, f.queries, kDim, p);
      ASSERT_TRUE(ra.status.ok()) << ra.status;
      ASSERT_TRUE(rb.status.ok()) << rb.status;
      EXPECT_EQ(ra.ids, rb.ids);
      EXPECT_EQ(ra.distances, rb.distances);
    }
  };
  same_results(**copied, **mapped);
  std::vector<float> va(kDim), vb(kDim);
  ASSERT_TRUE((*copied)->GetVectors({f.ids[17]}, {va.data(), 1, kDim}).ok());
  ASSERT_TRUE((*mapped)->GetVectors({f.ids[17]}, {vb.data(), 1, kDim}).ok());
  EXPECT_EQ(va, vb);

  const std::vector<int64_t> gone(f.ids.begin() + 10, f.ids.begin() + 60);
  ASSERT_TRUE((*copied)->Remove(gone).ok());
  ASSERT_TRUE((*mapped)->Remove(gone).ok());
  EXPECT_FALSE((*mapped)->info().memory_mapped);
  same_results(**copied, **mapped);
  std::vector<float> back(50 * kDim);
  std::copy(f.base.begin() + 10 * kDim, f.base.begin() + 60 * kDim,
            back.begin());
  ASSERT_TRUE((*copied)->Add({back.data(), 50, kDim}, gone).ok());
  ASSERT_TRUE((*mapped)->Add({back.data(), 50, kDim}, gone).ok());
  same_results(**copied, **mapped);
  EXPECT_EQ((*mapped)->info().size, kBase);
  EXPECT_EQ(ReadFileBytes(path), file_before);
}

TEST(IvfFlatTest, CorruptFilesAreDataLossNeverCrash) {
  auto made = MakeIndex(IvfFlatOptions{.ivf = {.dim = 8, .nlist = 4}});
  ASSERT_TRUE(made.ok());
  std::vector<float> x = ClusteredVectors(60, 8, 4, 5);
  ASSERT_TRUE((*made)->Train(MatrixView<const float>(x.data(), 60, 8)).ok());
  ASSERT_TRUE(
      (*made)
          ->Add(MatrixView<const float>(x.data(), 60, 8), SequentialIds(60))
          .ok());
  std::string bytes;
  StringWriter w(&bytes);
  ASSERT_TRUE((*made)->Save(w).ok());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    MemoryReader r(std::string_view(bytes.data(), cut));
    auto l = LoadIndex(r);
    ASSERT_FALSE(l.ok()) << "truncated at " << cut;
    EXPECT_EQ(l.status().code(), absl::StatusCode::kDataLoss)
        << cut << ": " << l.status();
  }
  for (size_t pos = 0; pos < bytes.size(); pos += 3) {
    std::string flipped = bytes;
    flipped[pos] ^= static_cast<char>(1 << (pos % 8));
    MemoryReader r(flipped);
    auto l = LoadIndex(r);
    EXPECT_FALSE(l.ok()) << "bit flip at " << pos << " went unnoticed";
  }
}

TEST(IvfFlatTest, SearchWhileAdding) {
  auto made = MakeIndex(IvfFlatOptions{.ivf = {.dim = kDim, .nlist = 16}});
  ASSERT_TRUE(made.ok());
  Index& index = **made;
  std::vector<float> x = ClusteredVectors(4000, kDim, 16, 4);
  ASSERT_TRUE(index.Train(MatrixView<const float>(x.data(), 4000, kDim)).ok());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int b = 0; b < 20; ++b) {
      std::vector<int64_t> ids = SequentialIds(200, b * 200);
      EXPECT_TRUE(index
                      .Add(MatrixView<const float>(x.data() + b * 200 * kDim,
                                                   200, kDim),
                           ids)
                      .ok());
    }
    done = true;
  });
  int64_t last = 0;
  while (!done) {
    auto r = RunSearch(index, x, kDim, {.k = 5, .nprobe = 16});
    ASSERT_TRUE(r.status.ok());
    // Sizes only grow in whole batches.
    const int64_t size = index.info().size;
    EXPECT_EQ(size % 200, 0);
    EXPECT_GE(size, last);
    last = size;
  }
  writer.join();
  EXPECT_EQ(index.info().size, 4000);
}

// The one-query L2 scan stops rows early against the running k-th distance;
// the batch scores every row in full with the multi-query kernels. Both must
// return the same ids and distances, on raw data and on data whose variance
// falls off with the dimension (as after a PCA rotation, where most rows
// stop at the first checks), with a dimension that is no multiple of the
// vector width.
TEST(IvfFlatTest, BoundedOneQueryScanEqualsFullBatchScan) {
  constexpr int64_t kN = 4000, kNq = 60;
  // Told that the leading axes dominate (as behind a rotation), inner
  // product and cosine screen their centroids (and cosine its rows) with the
  // squared-L2 exit, and L2 and cosine lists of 64-255 dimensions keep each
  // row's head apart (so 100-d rows stop early too), which must not change a
  // result either.
  for (int dim : {260, 100})
    for (bool hinted : {false, true})
      for (Metric metric :
           {Metric::kL2, Metric::kInnerProduct, Metric::kCosine})
        for (bool rotated_like : {false, true}) {
          std::vector<float> base = ClusteredVectors(kN, dim, 30, 5);
          std::vector<float> queries = ClusteredVectors(kNq, dim, 30, 6);
          if (rotated_like) {
            base = testing::RotatedLike(std::move(base), dim, 10.0f);
            queries = testing::RotatedLike(std::move(queries), dim, 10.0f);
          }
          auto made = MakeIndex(IvfFlatOptions{
              .ivf = {.dim = dim, .metric = metric, .nlist = 16}});
          ASSERT_TRUE(made.ok()) << made.status();
          Index& index = **made;
          if (hinted) {
            auto* hint = dynamic_cast<internal::LeadingAxesFirst*>(&index);
            ASSERT_NE(hint, nullptr);
            hint->SetLeadingAxesFirst();
          }
          const MatrixView<const float> view(base.data(), kN, dim);
          ASSERT_TRUE(index.Train(view).ok());
          ASSERT_TRUE(index.Add(view, SequentialIds(kN, 100)).ok());
          for (int nprobe : {2, 8, 16}) {
            for (int k : {1, 10, 50}) {
              SearchParams p{.k = k, .nprobe = nprobe};
              auto all = RunSearch(index, queries, dim, p);
              ASSERT_TRUE(all.status.ok()) << all.status;
              for (int64_t q = 0; q < kNq; ++q) {
                std::vector<float> one(queries.begin() + q * dim,
                                       queries.begin() + (q + 1) * dim);
                auto single = RunSearch(index, one, dim, p);
                ASSERT_TRUE(single.status.ok());
                for (int j = 0; j < k; ++j) {
                  ASSERT_EQ(single.ids[j], all.ids[q * k + j])
                      << "hinted " << hinted << " metric "
                      << static_cast<int>(metric) << " rotated-like "
                      << rotated_like << " nprobe " << nprobe << " k " << k
                      << " query " << q << " rank " << j;
                  ASSERT_EQ(single.distances[j], all.distances[q * k + j])
                      << "hinted " << hinted << " metric "
                      << static_cast<int>(metric) << " rotated-like "
                      << rotated_like << " nprobe " << nprobe << " k " << k
                      << " query " << q << " rank " << j;
                }
              }
            }
          }
        }
}

// Behind a rotation, L2 and cosine lists keep coded heads of their rows (what
// the one-query scan's first check reads). A head out of step with its row
// could stop a row that belongs in the results: the hinted index must answer
// as the plain one, bit for bit, after every kind of mutation, a load and a
// mapped load (head_codec_test.cc checks the heads themselves).
class ListHeadsTest : public ::testing::TestWithParam<int> {};

// Rows shorter than kBoundedMinDim stop only by their heads; longer ones
// keep 4-bit tails too, and could stop in place.
INSTANTIATE_TEST_SUITE_P(Dims, ListHeadsTest, ::testing::Values(100, 272));

// What a row's coded head costs at least: kCodedHeadDim bytes and a slack,
// and from kBoundedMinDim dimensions its tail (4 bits per later coordinate,
// padded to kCodedTailBlock) and the whole row's slack.
size_t CodedRowBytes(int dim) {
  size_t bytes = kernels::kCodedHeadDim + sizeof(float);
  if (static_cast<size_t>(dim) >= kernels::kBoundedMinDim) {
    const size_t tail = dim - kernels::kCodedHeadDim;
    constexpr size_t kBlock = kernels::kCodedTailBlock;
    bytes += (tail + kBlock - 1) / kBlock * kBlock / 2 + sizeof(float);
  }
  return bytes;
}

TEST_P(ListHeadsTest, ListHeadsFollowEveryMutation) {
  const int kD = GetParam();
  constexpr int64_t kN = 3000;
  for (Metric metric : {Metric::kL2, Metric::kCosine}) {
    const std::vector<float> base =
        testing::RotatedLike(ClusteredVectors(kN, kD, 30, 7), kD, 10.0f);
    const std::vector<float> queries =
        testing::RotatedLike(ClusteredVectors(40, kD, 30, 8), kD, 10.0f);
    const std::vector<int64_t> ids = SequentialIds(kN, 5);
    const MatrixView<const float> view(base.data(), kN, kD);
    const auto hint = [](Index& index) {
      auto* h = dynamic_cast<internal::LeadingAxesFirst*>(&index);
      ASSERT_NE(h, nullptr);
      h->SetLeadingAxesFirst();
    };
    auto plain = MakeIndex(
        IvfFlatOptions{.ivf = {.dim = kD, .metric = metric, .nlist = 16}});
    auto headed = MakeIndex(
        IvfFlatOptions{.ivf = {.dim = kD, .metric = metric, .nlist = 16}});
    ASSERT_TRUE(plain.ok() && headed.ok());
    hint(**headed);
    for (auto* index : {&*plain, &*headed}) {
      ASSERT_TRUE((*index)->Train(view).ok());
      ASSERT_TRUE((*index)->Add(view, ids).ok());
    }
    EXPECT_GE((*headed)->info().memory_bytes,
              (*plain)->info().memory_bytes + kN * CodedRowBytes(kD));
    const auto same = [&](const Index& a, const Index& b, const char* when) {
      for (int nprobe : {1, 4, 16}) {
        SearchParams p{.k = 10, .nprobe = nprobe};
        for (int64_t q = 0; q < 40; ++q) {
          std::vector<float> one(queries.begin() + q * kD,
                                 queries.begin() + (q + 1) * kD);
          auto ra = RunSearch(a, one, kD, p);
          auto rb = RunSearch(b, one, kD, p);
          ASSERT_TRUE(ra.status.ok() && rb.status.ok());
          ASSERT_EQ(ra.ids, rb.ids) << when << " nprobe " << nprobe
                                    << " metric " << static_cast<int>(metric);
          ASSERT_EQ(ra.distances, rb.distances)
              << when << " nprobe " << nprobe << " metric "
              << static_cast<int>(metric);
        }
      }
    };
    same(**plain, **headed, "after Add");
    // Removals move each list's last row into the hole.
    std::vector<int64_t> gone;
    for (int64_t i = 0; i < kN; i += 3) gone.push_back(ids[i]);
    ASSERT_TRUE((*plain)->Remove(gone).ok());
    ASSERT_TRUE((*headed)->Remove(gone).ok());
    same(**plain, **headed, "after Remove");
    std::vector<float> back;
    for (int64_t i = 0; i < kN; i += 3)
      back.insert(back.end(), base.begin() + i * kD,
                  base.begin() + (i + 1) * kD);
    const MatrixView<const float> back_view(
        back.data(), static_cast<int64_t>(gone.size()), kD);
    ASSERT_TRUE((*plain)->Add(back_view, gone).ok());
    ASSERT_TRUE((*headed)->Add(back_view, gone).ok());
    same(**plain, **headed, "after Add again");

    const std::string path = ::testing::TempDir() + "/ivf_flat_heads.vindex";
    ASSERT_TRUE(SaveIndexToFile(**headed, path).ok());
    for (bool map : {false, true}) {
      auto loaded = LoadIndexFromFile(path, LoadOptions{.memory_map = map});
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      auto bare = LoadIndexFromFile(path, LoadOptions{.memory_map = map});
      ASSERT_TRUE(bare.ok()) << bare.status();
      hint(**loaded);  // As RotatedIndex does after loading its inner index.
      EXPECT_GE((*loaded)->info().memory_bytes,
                (*bare)->info().memory_bytes + kN * CodedRowBytes(kD));
      // Against the same file loaded without the hint: rows in the same
      // order score to the same bits (the kernels' sums follow the rows'
      // positions in their groups of four).
      same(**bare, **loaded, map ? "mapped" : "loaded");
      // A mapped index copies its lists (heads too) before the mutation.
      ASSERT_TRUE((*loaded)->Remove({gone[0], gone[1]}).ok());
      ASSERT_TRUE((*bare)->Remove({gone[0], gone[1]}).ok());
      same(**bare, **loaded, map ? "mapped, after Remove" : "after Remove");
    }
  }
}

}  // namespace
}  // namespace vindex
