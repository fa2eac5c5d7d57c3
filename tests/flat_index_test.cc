#include "index/flat/flat_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>

#include "gtest/gtest.h"
#include "test_util.h"
#include "vindex/index.h"

namespace vindex {
namespace {

using testing::BruteForce;
using testing::RandomVectors;
using testing::RunSearch;
using testing::Saved;
using testing::SequentialIds;

std::unique_ptr<FlatIndex> MakeFlat(int d, Metric metric) {
  auto index = FlatIndex::Create(FlatOptions{.dim = d, .metric = metric});
  EXPECT_TRUE(index.ok()) << index.status();
  return std::move(*index);
}

// Compares with the double-precision brute force: the same ids where the
// reference's distances are not (nearly) tied, and close distances.
void ExpectMatchesBruteForce(const testing::SearchResult& got,
                             const testing::Neighbors& want, int64_t nq, int k,
                             Metric metric) {
  ASSERT_TRUE(got.status.ok()) << got.status;
  int64_t mismatches = 0;
  for (int64_t q = 0; q < nq; ++q) {
    for (int j = 0; j < k; ++j) {
      const int64_t i = q * k + j;
      if (want.ids[i] == -1) {
        EXPECT_EQ(got.ids[i], -1);
        EXPECT_EQ(got.distances[i],
                  metric == Metric::kL2 ? INFINITY : -INFINITY);
        continue;
      }
      const double scale = 1e-4 * (1 + std::abs(want.distances[i]));
      EXPECT_NEAR(got.distances[i], want.distances[i], scale)
          << "q=" << q << " j=" << j;
      if (got.ids[i] != want.ids[i]) {
        // Allowed only for a near-tie with a neighbouring rank.
        bool tie =
            (j > 0 &&
             std::abs(want.distances[i] - want.distances[i - 1]) < scale) ||
            (j + 1 < k &&
             std::abs(want.distances[i] - want.distances[i + 1]) < scale);
        if (!tie) ++mismatches;
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// An L2 search with `filter` (null: none) against the filtered brute force.
void ExpectFilteredL2MatchesBruteForce(Index& index,
                                       const std::vector<float>& base,
                                       const std::vector<int64_t>& ids,
                                       const std::vector<float>& queries, int d,
                                       int64_t nq, int k,
                                       const IdFilter* filter) {
  auto want = BruteForce(
      base, ids, queries, d, k, Metric::kL2,
      [&](int64_t id) { return filter == nullptr || filter->Allows(id); });
  ExpectMatchesBruteForce(
      RunSearch(index, queries, d, SearchParams{.k = k, .filter = filter}),
      want, nq, k, Metric::kL2);
}

class FlatSearchTest
    : public ::testing::TestWithParam<std::tuple<Metric, int /*force_gemm*/>> {
};

TEST_P(FlatSearchTest, MatchesDoubleBruteForce) {
  const auto [metric, force_gemm] = GetParam();
  const int d = 37;
  const int64_t n = 3000, nq = 40;
  auto base = RandomVectors(n, d, 11);
  auto queries = RandomVectors(nq, d, 12);
  auto ids = SequentialIds(n, 1000);
  auto index = MakeFlat(d, metric);
  index->set_force_gemm_for_testing(force_gemm);
  ASSERT_TRUE(index->Add(MatrixView<const float>(base.data(), n, d), ids).ok());
  ThreadPool pool(2);
  for (int k : {1, 7, 100}) {
    auto want = BruteForce(base, ids, queries, d, k, metric);
    ExpectMatchesBruteForce(
        RunSearch(*index, queries, d, SearchParams{.k = k}, &pool), want, nq, k,
        metric);
  }
}

INSTANTIATE_TEST_SUITE_P(
    MetricsAndPaths, FlatSearchTest,
    ::testing::Combine(::testing::Values(Metric::kL2, Metric::kInnerProduct,
                                         Metric::kCosine),
                       ::testing::Values(-1, 0, 1)));

TEST(FlatIndex, KLargerThanSizePads) {
  const int d = 8;
  auto base = RandomVectors(5, d, 1);
  auto queries = RandomVectors(3, d, 2);
  auto ids = SequentialIds(5);
  for (int force : {0, 1}) {
    auto index = MakeFlat(d, Metric::kL2);
    index->set_force_gemm_for_testing(force);
    ASSERT_TRUE(
        index->Add(MatrixView<const float>(base.data(), 5, d), ids).ok());
    for (int k : {5, 10}) {
      auto want = BruteForce(base, ids, queries, d, k, Metric::kL2);
      ExpectMatchesBruteForce(
          RunSearch(*index, queries, d, SearchParams{.k = k}), want, 3, k,
          Metric::kL2);
    }
  }
}

TEST(FlatIndex, EmptyIndexReturnsPadding) {
  auto index = MakeFlat(4, Metric::kInnerProduct);
  std::vector<float> q = {1, 2, 3, 4};
  auto r = RunSearch(*index, q, 4, SearchParams{.k = 3});
  ASSERT_TRUE(r.status.ok());
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(r.ids[j], -1);
    EXPECT_EQ(r.distances[j], -INFINITY);
  }
}

TEST(FlatIndex, TiesGoToSmallerId) {
  const int d = 2;
  std::vector<float> base = {1, 0, 1, 0, 1, 0, 0, 0};
  std::vector<int64_t> ids = {30, 10, 20, 5};
  auto index = MakeFlat(d, Metric::kL2);
  ASSERT_TRUE(index->Add(MatrixView<const float>(base.data(), 4, d), ids).ok());
  std::vector<float> q = {1, 0};
  auto r = RunSearch(*index, q, d, SearchParams{.k = 3});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.ids, (std::vector<int64_t>{10, 20, 30}));
}

TEST(FlatIndex, FiltersMatchFilteredBruteForce) {
  const int d = 16;
  const int64_t n = 2000, nq = 20;
  auto base = RandomVectors(n, d, 21);
  auto queries = RandomVectors(nq, d, 22);
  auto ids = SequentialIds(n, -2500);  // Negative ids are fine too (not -1).
  std::vector<int64_t> listed;
  for (int64_t i = -2500; i < -500; i += 7) listed.push_back(i);
  listed.push_back(123456789);  // Unknown ids in a list are ignored.
  struct Case {
    const char* name;
    IdFilter filter;
  };
  std::vector<Case> cases = {
      {"allow", IdFilter::AllowList(listed)},
      {"deny", IdFilter::DenyList(listed)},
      {"range", IdFilter::Range(-2200, -1900)},
      {"predicate",
       IdFilter::Predicate([](int64_t id) { return id % 3 == 0; })},
      {"nothing", IdFilter::Range(5, 5)},
  };
  for (int force : {0, 1}) {
    auto index = MakeFlat(d, Metric::kL2);
    index->set_force_gemm_for_testing(force);
    ASSERT_TRUE(
        index->Add(MatrixView<const float>(base.data(), n, d), ids).ok());
    for (const auto& c : cases) {
      SCOPED_TRACE(c.name);
      ExpectFilteredL2MatchesBruteForce(*index, base, ids, queries, d, nq,
                                        /*k=*/10, &c.filter);
    }
  }
}

// From kernels::kBoundedMinDim dimensions the one-query L2 scan stops rows
// past the running k-th distance. Leading dimensions carry most of the
// distance here (as after a principal-axis rotation), so most rows stop
// early; the results must still match the double-precision brute force
// (ids up to near-ties, distances within rounding), with and without a
// filter.
TEST(FlatIndex, BoundedOneQueryScanMatchesBruteForce) {
  const int d = 300;
  const int64_t n = 3000, nq = 20;
  const auto base = testing::RotatedLike(RandomVectors(n, d, 31), d);
  const auto queries = testing::RotatedLike(RandomVectors(nq, d, 32), d);
  auto ids = SequentialIds(n, 50);
  const IdFilter range = IdFilter::Range(400, 2600);
  const IdFilter odd =
      IdFilter::Predicate([](int64_t id) { return id % 2 == 1; });
  for (int force : {0, 1}) {
    auto index = MakeFlat(d, Metric::kL2);
    index->set_force_gemm_for_testing(force);
    ASSERT_TRUE(
        index->Add(MatrixView<const float>(base.data(), n, d), ids).ok());
    for (const IdFilter* filter :
         {static_cast<const IdFilter*>(nullptr), &range, &odd}) {
      for (int k : {1, 7, 100}) {
        SCOPED_TRACE(::testing::Message()
                     << "force_gemm " << force << " k " << k << " filter "
                     << (filter != nullptr));
        ExpectFilteredL2MatchesBruteForce(*index, base, ids, queries, d, nq, k,
                                          filter);
      }
    }
  }
}

// Behind a rotation, cosine single queries screen rows with the squared-L2
// exit; the answers (ids, distances, tie order, under filters) must be those
// of the unscreened scan and of the GEMM path, bit for bit.
TEST(FlatIndex, ScreenedCosineScanEqualsUnscreened) {
  const int d = 300;
  const int64_t n = 3000, nq = 20;
  const auto base = testing::RotatedLike(RandomVectors(n, d, 33), d);
  const auto queries = testing::RotatedLike(RandomVectors(nq, d, 34), d);
  auto ids = SequentialIds(n, 50);
  const IdFilter odd =
      IdFilter::Predicate([](int64_t id) { return id % 2 == 1; });
  for (const IdFilter* filter : {static_cast<const IdFilter*>(nullptr), &odd}) {
    for (int k : {1, 10, 100}) {
      std::vector<testing::SearchResult> got;
      for (int mode : {0, 1, 2}) {  // unscreened scan, screened scan, GEMM
        auto index = MakeFlat(d, Metric::kCosine);
        if (mode == 1) index->SetLeadingAxesFirst();
        index->set_force_gemm_for_testing(mode == 2 ? 1 : 0);
        ASSERT_TRUE(
            index->Add(MatrixView<const float>(base.data(), n, d), ids).ok());
        got.push_back(RunSearch(*index, queries, d,
                                SearchParams{.k = k, .filter = filter}));
        ASSERT_TRUE(got.back().status.ok());
      }
      for (int mode : {1, 2}) {
        EXPECT_EQ(got[mode].ids, got[0].ids)
            << "mode " << mode << " k " << k << " filter "
            << (filter != nullptr);
        EXPECT_EQ(
            0, std::memcmp(got[mode].distances.data(), got[0].distances.data(),
                           got[0].distances.size() * sizeof(float)))
            << "mode " << mode << " k " << k << " filter "
            << (filter != nullptr);
      }
    }
  }
}

// Distances come from one per-row kernel whatever the path (GEMM for
// batches, scan for single queries) and wherever a row is stored, so a
// batch answers bit for bit as its queries one at a time, and a shard of the
// rows answers as the whole index for the rows it holds.
TEST(FlatIndex, DistancesDoNotDependOnPathOrRowPosition) {
  const int d = 37;
  const int64_t n = 2999, nq = 40;
  auto base = RandomVectors(n, d, 41);
  auto queries = RandomVectors(nq, d, 42);
  auto ids = SequentialIds(n, 7);
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct}) {
    SCOPED_TRACE(static_cast<int>(metric));
    const int k = 10;
    std::vector<testing::SearchResult> got;
    for (int force : {0, 1}) {
      auto index = MakeFlat(d, metric);
      index->set_force_gemm_for_testing(force);
      ASSERT_TRUE(
          index->Add(MatrixView<const float>(base.data(), n, d), ids).ok());
      got.push_back(RunSearch(*index, queries, d, SearchParams{.k = k}));
    }
    // The rows in reverse order, searched by GEMM.
    std::vector<float> reversed(base.size());
    std::vector<int64_t> reversed_ids(n);
    for (int64_t i = 0; i < n; ++i) {
      std::copy(base.begin() + (n - 1 - i) * d, base.begin() + (n - i) * d,
                reversed.begin() + i * d);
      reversed_ids[i] = ids[n - 1 - i];
    }
    auto index = MakeFlat(d, metric);
    index->set_force_gemm_for_testing(1);
    ASSERT_TRUE(
        index->Add(MatrixView<const float>(reversed.data(), n, d), reversed_ids)
            .ok());
    got.push_back(RunSearch(*index, queries, d, SearchParams{.k = k}));
    for (size_t v = 1; v < got.size(); ++v) {
      ASSERT_TRUE(got[v].status.ok()) << got[v].status;
      EXPECT_EQ(got[v].ids, got[0].ids) << "variant " << v;
      for (int64_t i = 0; i < nq * k; ++i) {
        ASSERT_EQ(std::memcmp(&got[v].distances[i], &got[0].distances[i],
                              sizeof(float)),
                  0)
            << "variant " << v << " query " << i / k << " rank " << i % k
            << ": " << got[v].distances[i] << " vs " << got[0].distances[i];
      }
    }
  }
}

TEST(FlatIndex, RemoveCompactsAndGetVectorsReturnsStoredRows) {
  const int d = 12;
  const int64_t n = 500;
  auto base = RandomVectors(n, d, 31);
  auto ids = SequentialIds(n);
  auto index = MakeFlat(d, Metric::kL2);
  ASSERT_TRUE(index->Add(MatrixView<const float>(base.data(), n, d), ids).ok());
  const uint64_t bytes_before = index->info().memory_bytes;
  std::vector<int64_t> removed;
  for (int64_t i = 0; i < n; i += 2) removed.push_back(i);
  ASSERT_TRUE(index->Remove(removed).ok());
  EXPECT_EQ(index->info().size, n - static_cast<int64_t>(removed.size()));
  EXPECT_LE(index->info().memory_bytes, bytes_before);

  // Searching for a removed vector never returns it; survivors are exact.
  std::vector<float> kept_base;
  std::vector<int64_t> kept_ids;
  for (int64_t i = 1; i < n; i += 2) {
    kept_ids.push_back(i);
    kept_base.insert(kept_base.end(), base.begin() + i * d,
                     base.begin() + (i + 1) * d);
  }
  std::vector<float> queries(base.begin(), base.begin() + 10 * d);
  auto want = BruteForce(kept_base, kept_ids, queries, d, 5, Metric::kL2);
  ExpectMatchesBruteForce(RunSearch(*index, queries, d, SearchParams{.k = 5}),
                          want, 10, 5, Metric::kL2);

  std::vector<float> got(2 * d);
  ASSERT_TRUE(
      index->GetVectors({7, 499}, MatrixView<float>(got.data(), 2, d)).ok());
  EXPECT_TRUE(std::equal(got.begin(), got.begin() + d, base.begin() + 7 * d));
  EXPECT_TRUE(std::equal(got.begin() + d, got.end(), base.begin() + 499 * d));
  EXPECT_EQ(index->GetVectors({0}, MatrixView<float>(got.data(), 1, d)).code(),
            absl::StatusCode::kNotFound);

  // Removed ids can be added again.
  ASSERT_TRUE(index->Add(MatrixView<const float>(base.data(), 1, d), {0}).ok());
  auto r = RunSearch(*index, std::vector<float>(base.begin(), base.begin() + d),
                     d, SearchParams{.k = 1});
  EXPECT_EQ(r.ids[0], 0);
}

TEST(FlatIndex, CosineStoresNormalisedVectorsAndReportsSimilarity) {
  const int d = 3;
  std::vector<float> base = {3, 0, 0, 0, 2, 0};
  auto index = MakeFlat(d, Metric::kCosine);
  ASSERT_TRUE(
      index->Add(MatrixView<const float>(base.data(), 2, d), {1, 2}).ok());
  std::vector<float> q = {1, 1, 0};
  auto r = RunSearch(*index, q, d, SearchParams{.k = 2});
  ASSERT_TRUE(r.status.ok());
  EXPECT_NEAR(r.distances[0], std::sqrt(0.5), 1e-6);
  std::vector<float> v(d);
  ASSERT_TRUE(index->GetVectors({1}, MatrixView<float>(v.data(), 1, d)).ok());
  EXPECT_FLOAT_EQ(v[0], 1.0f);
}

// Every bad input gets the documented status and leaves the index exactly as
// it was (same saved bytes).
TEST(FlatIndex, BadInputIsRejectedAndChangesNothing) {
  const int d = 4;
  auto base = RandomVectors(10, d, 41);
  auto index = MakeFlat(d, Metric::kCosine);
  ASSERT_TRUE(
      index->Add(MatrixView<const float>(base.data(), 10, d), SequentialIds(10))
          .ok());
  const std::string before = Saved(*index);

  std::vector<float> v(3 * d, 0.5f);
  std::vector<float> nan_v = v;
  nan_v[5] = NAN;
  std::vector<float> inf_v = v;
  inf_v[0] = INFINITY;
  std::vector<float> zero_v(d, 0.0f);
  auto add = [&](const std::vector<float>& x, int64_t rows, int cols,
                 std::vector<int64_t> ids) {
    return index->Add(MatrixView<const float>(x.data(), rows, cols), ids)
        .code();
  };
  using absl::StatusCode;
  EXPECT_EQ(add(v, 3, 3, {100, 101, 102}),
            StatusCode::kInvalidArgument);  // wrong dim
  EXPECT_EQ(add(nan_v, 3, d, {100, 101, 102}),
            StatusCode::kInvalidArgument);  // NaN
  EXPECT_EQ(add(inf_v, 3, d, {100, 101, 102}),
            StatusCode::kInvalidArgument);                    // Inf
  EXPECT_EQ(add(v, 0, d, {}), StatusCode::kInvalidArgument);  // empty batch
  EXPECT_EQ(add(v, 3, d, {100, 101}),
            StatusCode::kInvalidArgument);  // ids mismatch
  EXPECT_EQ(add(v, 3, d, {100, 101, 100}),
            StatusCode::kInvalidArgument);  // dup in batch
  EXPECT_EQ(add(v, 3, d, {100, 101, 5}),
            StatusCode::kInvalidArgument);  // dup in index
  EXPECT_EQ(add(v, 3, d, {100, -1, 102}),
            StatusCode::kInvalidArgument);  // reserved id
  EXPECT_EQ(add(zero_v, 1, d, {100}),
            StatusCode::kInvalidArgument);  // cosine zero
  EXPECT_EQ(index->Remove({1, 2, 999}).code(),
            StatusCode::kNotFound);  // unknown id
  EXPECT_EQ(index->Remove({1, 1}).code(),
            StatusCode::kInvalidArgument);  // repeated
  EXPECT_EQ(index->Train(MatrixView<const float>(v.data(), 3, 2)).code(),
            StatusCode::kInvalidArgument);

  std::vector<float> q(d, 1.0f);
  EXPECT_EQ(RunSearch(*index, q, d, SearchParams{.k = 0}).status.code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RunSearch(*index, q, d, SearchParams{.k = -3}).status.code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RunSearch(*index, std::vector<float>(), d, SearchParams{.k = 1})
                .status.code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      RunSearch(*index, std::vector<float>(6, 1.0f), 3, SearchParams{.k = 1})
          .status.code(),
      StatusCode::kInvalidArgument);
  std::vector<float> nan_q = q;
  nan_q[1] = NAN;
  EXPECT_EQ(RunSearch(*index, nan_q, d, SearchParams{.k = 1}).status.code(),
            StatusCode::kInvalidArgument);
  // Output too small for k.
  int64_t one_id;
  float one_dist;
  EXPECT_EQ(index
                ->Search(MatrixView<const float>(q.data(), 1, d),
                         SearchParams{.k = 2},
                         {MatrixView<int64_t>(&one_id, 1, 1),
                          MatrixView<float>(&one_dist, 1, 1)})
                .code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(Saved(*index), before);

  // A filter on an empty index is an error, not a silent empty result.
  auto empty = MakeFlat(d, Metric::kL2);
  IdFilter allow = IdFilter::AllowList({1});
  EXPECT_EQ(RunSearch(*empty, q, d, SearchParams{.k = 1, .filter = &allow})
                .status.code(),
            StatusCode::kFailedPrecondition);

  EXPECT_EQ(FlatIndex::Create(FlatOptions{.dim = 0}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(FlatIndex, SaveLoadRoundTripGivesIdenticalResults) {
  const int d = 24;
  const int64_t n = 700, nq = 15;
  auto base = RandomVectors(n, d, 51);
  auto queries = RandomVectors(nq, d, 52);
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    auto index = MakeFlat(d, metric);
    ASSERT_TRUE(index
                    ->Add(MatrixView<const float>(base.data(), n, d),
                          SequentialIds(n, 7))
                    .ok());
    ASSERT_TRUE(index->Remove({7, 100, 300}).ok());
    const std::string bytes = Saved(*index);
    MemoryReader reader(bytes);
    auto loaded = LoadIndex(reader);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ((*loaded)->info().size, index->info().size);
    EXPECT_EQ((*loaded)->info().metric, metric);
    auto a = RunSearch(*index, queries, d, SearchParams{.k = 10});
    auto b = RunSearch(**loaded, queries, d, SearchParams{.k = 10});
    EXPECT_EQ(a.ids, b.ids);
    EXPECT_EQ(a.distances, b.distances);
    EXPECT_EQ(Saved(**loaded), bytes);
  }
}

TEST(FlatIndex, SaveToFileIsAtomicAndLoads) {
  const int d = 8;
  auto base = RandomVectors(100, d, 61);
  auto index = MakeFlat(d, Metric::kL2);
  ASSERT_TRUE(index
                  ->Add(MatrixView<const float>(base.data(), 100, d),
                        SequentialIds(100))
                  .ok());
  const std::string path = ::testing::TempDir() + "/flat_atomic.vindex";
  ASSERT_TRUE(SaveIndexToFile(*index, path).ok());
  ASSERT_TRUE(SaveIndexToFile(*index, path).ok());  // Overwrite in place.
  auto loaded = LoadIndexFromFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->info().size, 100);
  EXPECT_EQ(LoadIndexFromFile(path + ".missing").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(SaveIndexToFile(*index, "/nonexistent-dir/x.vindex").ok());
}

TEST(FlatIndex, CorruptFilesAreDataLossNeverACrash) {
  const int d = 5;
  auto base = RandomVectors(20, d, 71);
  auto index = MakeFlat(d, Metric::kL2);
  ASSERT_TRUE(
      index->Add(MatrixView<const float>(base.data(), 20, d), SequentialIds(20))
          .ok());
  const std::string bytes = Saved(*index);
  // Truncation at every byte.
  for (size_t len = 0; len < bytes.size(); ++len) {
    MemoryReader r(std::string_view(bytes).substr(0, len));
    auto loaded = LoadIndex(r);
    ASSERT_FALSE(loaded.ok()) << "truncated at " << len;
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss)
        << len << loaded.status();
  }
  // Every single-bit flip is caught (CRC-32C detects all of them).
  for (size_t byte = 0; byte < bytes.size(); ++byte) {
    for (int bit = 0; bit < 8; bit += 3) {
      std::string bad = bytes;
      bad[byte] ^= static_cast<char>(1 << bit);
      MemoryReader r(bad);
      auto loaded = LoadIndex(r);
      ASSERT_FALSE(loaded.ok()) << "flip at byte " << byte << " bit " << bit;
      EXPECT_TRUE(loaded.status().code() == absl::StatusCode::kDataLoss ||
                  loaded.status().code() ==
                      absl::StatusCode::kFailedPrecondition)
          << loaded.status();
    }
  }
  // Trailing garbage is rejected too.
  const std::string trailing = bytes + "x";
  MemoryReader r(trailing);
  EXPECT_EQ(LoadIndex(r).status().code(), absl::StatusCode::kDataLoss);
}

TEST(FlatIndex, SearchesRunWhileAnotherThreadAdds) {
  const int d = 16;
  const int64_t batches = 40, per_batch = 50;
  auto base = RandomVectors(batches * per_batch, d, 81);
  auto index = MakeFlat(d, Metric::kL2);
  std::atomic<bool> done{false};
  std::atomic<int64_t> bad{0}, searches{0};
  std::vector<std::thread> searchers;
  for (int t = 0; t < 3; ++t) {
    searchers.emplace_back([&, t] {
      auto q = RandomVectors(4, d, 90 + t);
      while (!done.load()) {
        auto r = RunSearch(*index, q, d, SearchParams{.k = 5});
        if (!r.status.ok()) ++bad;
        // Results are either real ids added so far, or padding at the end.
        for (int64_t i = 0; i < static_cast<int64_t>(r.ids.size()); ++i) {
          if (r.ids[i] < -1 || r.ids[i] >= batches * per_batch) ++bad;
        }
        ++searches;
      }
    });
  }
  // Start adding only once searches are running, and keep both going.
  while (searches.load() < 3) std::this_thread::yield();
  const int64_t searches_before = searches.load();
  for (int64_t b = 0; b < batches; ++b) {
    ASSERT_TRUE(index
                    ->Add(MatrixView<const float>(
                              base.data() + b * per_batch * d, per_batch, d),
                          SequentialIds(per_batch, b * per_batch))
                    .ok());
  }
  while (searches.load() < searches_before + 3) std::this_thread::yield();
  done = true;
  for (auto& t : searchers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(index->info().size, batches * per_batch);
}

TEST(FlatIndex, RealDatasetRecallIsExact) {
  auto ds = testing::LoadSharedDataset("debian-desc-use512-angular", 200);
  if (!ds) GTEST_SKIP() << "../shared/data not present";
  auto index = MakeFlat(ds->dim, ds->metric);
  ASSERT_TRUE(index
                  ->Add(MatrixView<const float>(ds->base.data(), ds->num_base(),
                                                ds->dim),
                        SequentialIds(ds->num_base()))
                  .ok());
  ThreadPool pool(2);
  auto r =
      RunSearch(*index, ds->queries, ds->dim, SearchParams{.k = 10}, &pool);
  ASSERT_TRUE(r.status.ok());
  std::vector<int64_t> truth(ds->groundtruth.begin(), ds->groundtruth.end());
  const double recall = testing::RecallAtK(truth, ds->gt_k, r.ids, 10, 10);
  // Exact search; only float32 near-ties may differ from the float64 truth.
  EXPECT_GE(recall, 0.999) << "recall@10 " << recall;
}

}  // namespace
}  // namespace vindex

namespace vindex {
namespace {

TEST(FlatIndexMapped, ServesFromMappingThenCopiesOnWrite) {
  const int d = 16;
  const int64_t n = 1000, nq = 8;
  auto base = RandomVectors(n, d, 101);
  auto queries = RandomVectors(nq, d, 102);
  auto index = MakeFlat(d, Metric::kL2);
  ASSERT_TRUE(
      index->Add(MatrixView<const float>(base.data(), n, d), SequentialIds(n))
          .ok());
  const std::string path = ::testing::TempDir() + "/flat_mapped.vindex";
  ASSERT_TRUE(SaveIndexToFile(*index, path).ok());

  auto mapped = LoadIndexFromFile(path, LoadOptions{.memory_map = true});
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_TRUE((*mapped)->info().memory_mapped);
  auto a = RunSearch(*index, queries, d, SearchParams{.k = 10});
  auto b = RunSearch(**mapped, queries, d, SearchParams{.k = 10});
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.distances, b.distances);

  // The file may be replaced while mapped (rename keeps the old inode alive).
  ASSERT_TRUE(SaveIndexToFile(*MakeFlat(d, Metric::kL2), path).ok());
  b = RunSearch(**mapped, queries, d, SearchParams{.k = 10});
  EXPECT_EQ(a.ids, b.ids);

  // Add copies the mapped vectors first; results stay exact.
  auto extra = RandomVectors(1, d, 103);
  ASSERT_TRUE(
      (*mapped)->Add(MatrixView<const float>(extra.data(), 1, d), {5000}).ok());
  EXPECT_FALSE((*mapped)->info().memory_mapped);
  ASSERT_TRUE(
      index->Add(MatrixView<const float>(extra.data(), 1, d), {5000}).ok());
  a = RunSearch(*index, queries, d, SearchParams{.k = 10});
  b = RunSearch(**mapped, queries, d, SearchParams{.k = 10});
  EXPECT_EQ(a.ids, b.ids);
  ASSERT_TRUE((*mapped)->Remove({5000, 3}).ok());
  EXPECT_EQ((*mapped)->info().size, n - 1);
}

TEST(FlatIndexMapped, CorruptMappedFileIsDataLoss) {
  const int d = 4;
  auto base = RandomVectors(50, d, 111);
  auto index = MakeFlat(d, Metric::kL2);
  ASSERT_TRUE(
      index->Add(MatrixView<const float>(base.data(), 50, d), SequentialIds(50))
          .ok());
  std::string bytes = Saved(*index);
  bytes[bytes.size() - 30] ^= 0x10;  // Inside the vectors section.
  const std::string path = ::testing::TempDir() + "/flat_mapped_bad.vindex";
  {
    auto w = FileWriter::Create(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(bytes.data(), bytes.size()).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  EXPECT_EQ(
      LoadIndexFromFile(path, LoadOptions{.memory_map = true}).status().code(),
      absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace vindex
