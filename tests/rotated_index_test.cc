#include "index/rotation/rotated_index.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "index/flat/flat_index.h"
#include "index/hnsw/hnsw_index.h"
#include "index/ivf/ivf_flat_index.h"
#include "io/format.h"
#include "test_util.h"
#include "vindex/filter.h"
#include "vindex/index.h"
#include "vindex/inspect.h"

namespace vindex {
namespace {

using testing::BruteForce;
using testing::ClusteredVectors;
using testing::RecallAtK;
using testing::RunSearch;
using testing::Saved;
using testing::SequentialIds;

std::unique_ptr<Index> Make(const std::string& spec, int d,
                            Metric metric = Metric::kL2) {
  auto index = MakeIndex(spec, d, metric);
  EXPECT_TRUE(index.ok()) << spec << ": " << index.status();
  return index.ok() ? std::move(*index) : nullptr;
}

// Trains on `base` and adds it with ids 0..n-1.
void Build(Index& index, const std::vector<float>& base, int d,
           Executor* executor = nullptr) {
  const int64_t n = base.size() / d;
  MatrixView<const float> view(base.data(), n, d);
  ASSERT_TRUE(index.Train(view, executor).ok());
  std::vector<int64_t> ids = SequentialIds(n);
  ASSERT_TRUE(index.Add(view, ids, executor).ok());
}

// Gaussian data whose dimensions have very different spreads, in an order
// that is not the spread's: the rotation has to find and sort them.
std::vector<float> UnequalSpreadVectors(int64_t n, int d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> x(n * d);
  for (int64_t i = 0; i < n; ++i) {
    for (int c = 0; c < d; ++c) {
      const float spread = 0.1f + static_cast<float>((c * 7) % d);
      x[i * d + c] = spread * g(rng) + 3.0f;
    }
  }
  return x;
}

std::vector<float> RotationOf(const Index& index) {
  const auto* rotated = dynamic_cast<const RotatedIndex*>(&index);
  EXPECT_NE(rotated, nullptr);
  return rotated == nullptr ? std::vector<float>() : rotated->rotation();
}

class RotFlatTest : public ::testing::TestWithParam<Metric> {};

// An orthogonal map keeps every distance: Rot,Flat answers as Flat does.
TEST_P(RotFlatTest, SameAnswersAsFlat) {
  const Metric metric = GetParam();
  const int d = 96, k = 10;  // More than the rotation's leading axes.
  const int64_t n = 3000, nq = 60;
  std::vector<float> base = ClusteredVectors(n, d, 20, 1);
  std::vector<float> queries = ClusteredVectors(nq, d, 20, 2);
  auto flat = Make("Flat", d, metric);
  ASSERT_NE(flat, nullptr);
  auto rot = Make("Rot,Flat", d, metric);
  ASSERT_NE(rot, nullptr);
  Build(*flat, base, d);
  Build(*rot, base, d);
  EXPECT_EQ(rot->info().description, "Rot,Flat");
  EXPECT_EQ(rot->info().size, n);
  const testing::SearchResult want =
      RunSearch(*flat, queries, d, SearchParams{.k = k});
  const testing::SearchResult got =
      RunSearch(*rot, queries, d, SearchParams{.k = k});
  ASSERT_TRUE(want.status.ok()) << want.status;
  ASSERT_TRUE(got.status.ok()) << got.status;
  int64_t mismatches = 0;
  for (int64_t i = 0; i < nq * k; ++i) {
    const double tol =
        1e-4 * std::max(1e-3, std::fabs(double{want.distances[i]}));
    EXPECT_NEAR(got.distances[i], want.distances[i], tol) << "at " << i;
    if (got.ids[i] != want.ids[i]) {
      // Only an exact tie (within rounding) may swap two ids.
      const int j = static_cast<int>(i % k);
      const bool tie =
          (j > 0 &&
           std::fabs(want.distances[i] - want.distances[i - 1]) <= tol) ||
          (j + 1 < k &&
           std::fabs(want.distances[i] - want.distances[i + 1]) <= tol);
      if (!tie) ++mismatches;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(Metrics, RotFlatTest,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct,
                                           Metric::kCosine));

// The rotation tells the index behind it that the leading axes dominate,
// which lets its inner-product and cosine scans stop rows early.
TEST(RotatedIndexTest, TellsTheInnerIndexItsLeadingAxesComeFirst) {
  auto ivf = IvfFlatIndex::Create(
      IvfFlatOptions{.ivf = {.dim = 8, .metric = Metric::kCosine, .nlist = 4}});
  ASSERT_TRUE(ivf.ok());
  auto hnsw =
      HnswIndex::Create(HnswOptions{.dim = 8, .metric = Metric::kCosine});
  ASSERT_TRUE(hnsw.ok());
  auto flat =
      FlatIndex::Create(FlatOptions{.dim = 8, .metric = Metric::kCosine});
  ASSERT_TRUE(flat.ok());
  const IvfFlatIndex* ivf_inner = ivf->get();
  const HnswIndex* hnsw_inner = hnsw->get();
  const FlatIndex* flat_inner = flat->get();
  EXPECT_FALSE(ivf_inner->leading_axes_first());
  EXPECT_FALSE(hnsw_inner->leading_axes_first());
  EXPECT_FALSE(flat_inner->leading_axes_first());
  auto rot_ivf = RotatedIndex::Create(std::move(*ivf));
  auto rot_hnsw = RotatedIndex::Create(std::move(*hnsw));
  auto rot_flat = RotatedIndex::Create(std::move(*flat));
  ASSERT_TRUE(rot_ivf.ok() && rot_hnsw.ok() && rot_flat.ok());
  EXPECT_TRUE(ivf_inner->leading_axes_first());
  EXPECT_TRUE(hnsw_inner->leading_axes_first());
  EXPECT_TRUE(flat_inner->leading_axes_first());
}

TEST(RotatedIndexTest, RotationIsOrthonormalAndSortsVariance) {
  const int d = 24;
  const int64_t n = 4000;
  std::vector<float> base = UnequalSpreadVectors(n, d, 3);
  auto rot = Make("Rot,Flat", d);
  ASSERT_NE(rot, nullptr);
  ASSERT_TRUE(rot->Train(MatrixView<const float>(base.data(), n, d)).ok());
  const std::vector<float> r = RotationOf(*rot);
  ASSERT_EQ(r.size(), size_t{d} * d);
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j < d; ++j) {
      double dot = 0;
      for (int c = 0; c < d; ++c) dot += double{r[i * d + c]} * r[j * d + c];
      EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-5) << i << "," << j;
    }
  }
  // Variance of each rotated coordinate: decreasing, the first far above
  // the last, and the leading quarter holds most of the total.
  std::vector<double> mean(d, 0), var(d, 0);
  std::vector<double> y(n * d, 0);
  for (int64_t v = 0; v < n; ++v) {
    for (int i = 0; i < d; ++i) {
      double s = 0;
      for (int c = 0; c < d; ++c) s += double{r[i * d + c]} * base[v * d + c];
      y[v * d + i] = s;
      mean[i] += s / n;
    }
  }
  for (int64_t v = 0; v < n; ++v) {
    for (int i = 0; i < d; ++i) {
      var[i] += (y[v * d + i] - mean[i]) * (y[v * d + i] - mean[i]) / n;
    }
  }
  for (int i = 1; i < d; ++i) EXPECT_GE(var[i - 1], var[i] * 0.999) << i;
  EXPECT_GT(var[0], 100 * var[d - 1]);
  // The leading quarter holds as much of the total as the largest quarter
  // of the raw coordinates' variances (the best any coordinates can).
  std::vector<double> raw_var(d, 0);
  for (int c = 0; c < d; ++c) {
    double m = 0;
    for (int64_t v = 0; v < n; ++v) m += base[v * d + c] / double(n);
    for (int64_t v = 0; v < n; ++v) {
      raw_var[c] += (base[v * d + c] - m) * (base[v * d + c] - m) / n;
    }
  }
  std::sort(raw_var.begin(), raw_var.end(), std::greater<double>());
  double total = 0, lead = 0, best_lead = 0;
  for (int i = 0; i < d; ++i) {
    total += var[i];
    if (i < d / 4) {
      lead += var[i];
      best_lead += raw_var[i];
    }
  }
  EXPECT_GE(lead, 0.99 * best_lead);
  EXPECT_GT(lead / total, 0.5);
}

// Approximate inner indexes behind the rotation keep their recall.
TEST(RotatedIndexTest, RecallOfApproximateInnerIndexes) {
  const int d = 32, k = 10;
  const int64_t n = 6000, nq = 200;
  std::vector<float> base = ClusteredVectors(n, d, 40, 4);
  std::vector<float> queries = ClusteredVectors(nq, d, 40, 5);
  const testing::Neighbors truth =
      BruteForce(base, SequentialIds(n), queries, d, k, Metric::kL2);
  struct Case {
    std::string spec;
    SearchParams params;
    double floor;
  };
  for (const Case& c :
       {Case{"Rot,HNSW32", SearchParams{.k = k, .ef = 64}, 0.95},
        Case{"Rot,HNSW16,SQ8", SearchParams{.k = k, .ef = 64}, 0.9},
        Case{"Rot,IVF64,Flat", SearchParams{.k = k, .nprobe = 8}, 0.85}}) {
    SCOPED_TRACE(c.spec);
    auto index = Make(c.spec, d);
    ASSERT_NE(index, nullptr);
    ThreadPool pool(2);
    Build(*index, base, d, &pool);
    const testing::SearchResult got = RunSearch(*index, queries, d, c.params);
    ASSERT_TRUE(got.status.ok()) << got.status;
    const double recall = RecallAtK(truth.ids, k, got.ids, k, k);
    EXPECT_GE(recall, c.floor) << "recall@10 " << recall;
  }
}

TEST(RotatedIndexTest, GetVectorsRotatesBackAndRemoveAndFiltersPassThrough) {
  const int d = 16, k = 5;
  const int64_t n = 500;
  std::vector<float> base = ClusteredVectors(n, d, 8, 6);
  auto rot = Make("Rot,HNSW16", d);
  ASSERT_NE(rot, nullptr);
  Build(*rot, base, d);
  ASSERT_TRUE(rot->capabilities().get_vectors);
  EXPECT_TRUE(rot->capabilities().needs_training);
  const std::vector<int64_t> ids = {7, 0, 499, 123};
  std::vector<float> out(ids.size() * d);
  ASSERT_TRUE(rot->GetVectors(ids, MatrixView<float>(out.data(), 4, d)).ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    for (int c = 0; c < d; ++c) {
      EXPECT_NEAR(out[i * d + c], base[ids[i] * d + c], 1e-5)
          << "id " << ids[i] << " c " << c;
    }
  }
  // A filter on caller ids: only even ids come back.
  const IdFilter even =
      IdFilter::Predicate([](int64_t id) { return id % 2 == 0; });
  std::vector<float> queries(base.begin(), base.begin() + 10 * d);
  testing::SearchResult got =
      RunSearch(*rot, queries, d, SearchParams{.k = k, .filter = &even});
  ASSERT_TRUE(got.status.ok()) << got.status;
  for (int64_t id : got.ids) EXPECT_EQ(id % 2, 0);
  // Removing id 0 removes it from the answers to its own vector.
  ASSERT_TRUE(rot->Remove(std::vector<int64_t>{0}).ok());
  EXPECT_EQ(rot->info().size, n - 1);
  got = RunSearch(*rot, std::vector<float>(base.begin(), base.begin() + d), d,
                  SearchParams{.k = k});
  ASSERT_TRUE(got.status.ok());
  for (int64_t id : got.ids) EXPECT_NE(id, 0);
  EXPECT_EQ(rot->Remove(std::vector<int64_t>{0}).code(),
            absl::StatusCode::kNotFound);
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "." + std::to_string(::getpid());
}

TEST(RotatedIndexTest, SaveLoadRoundTripGivesIdenticalAnswers) {
  const int d = 20, k = 10;
  const int64_t n = 2000, nq = 40;
  std::vector<float> base = ClusteredVectors(n, d, 16, 7);
  std::vector<float> queries = ClusteredVectors(nq, d, 16, 8);
  for (const char* spec : {"Rot,HNSW16", "Rot,IVF16,Flat", "Rot,Flat",
                           "Rot,IVF8,PQ4,Rerank", "Rot,HNSW8,SQ8"}) {
    for (Metric metric : {Metric::kL2, Metric::kCosine}) {
      SCOPED_TRACE(std::string(spec) + " " + std::string(MetricName(metric)));
      auto index = Make(spec, d, metric);
      ASSERT_NE(index, nullptr);
      Build(*index, base, d);
      const SearchParams params{.k = k, .nprobe = 4, .ef = 32};
      const testing::SearchResult want = RunSearch(*index, queries, d, params);
      ASSERT_TRUE(want.status.ok()) << want.status;
      const std::string bytes = Saved(*index);
      const std::string path = TempPath("rotated.vindex");
      ASSERT_TRUE(SaveIndexToFile(*index, path).ok());
      for (bool mapped : {false, true}) {
        auto loaded = LoadIndexFromFile(path, {.memory_map = mapped});
        ASSERT_TRUE(loaded.ok()) << loaded.status();
        EXPECT_EQ((*loaded)->info().description, index->info().description);
        EXPECT_EQ((*loaded)->info().size, n);
        const testing::SearchResult got =
            RunSearch(**loaded, queries, d, params);
        ASSERT_TRUE(got.status.ok()) << got.status;
        EXPECT_EQ(got.ids, want.ids);
        EXPECT_EQ(got.distances, want.distances);
        EXPECT_EQ(Saved(**loaded), bytes);
      }
      std::remove(path.c_str());
    }
  }
}

TEST(RotatedIndexTest, CorruptOrTruncatedFileIsDataLoss) {
  const int d = 12;
  std::vector<float> base = ClusteredVectors(300, d, 4, 9);
  auto index = Make("Rot,HNSW8", d);
  ASSERT_NE(index, nullptr);
  Build(*index, base, d);
  const std::string bytes = Saved(*index);
  // The rotation matrix starts after the header, the section header, its 16
  // bytes of fields and their padding; flip a byte inside the matrix.
  const size_t matrix_at = io::kHeaderBytes + io::kSectionHeaderBytes + 16;
  {
    MemoryReader reader(bytes);
    ASSERT_TRUE(LoadIndex(reader).ok());
  }
  for (size_t offset : {matrix_at + 64, matrix_at + 64 + 4 * d * d / 2,
                        size_t{io::kHeaderBytes + 2}}) {
    std::string bad = bytes;
    bad[offset] ^= 0x10;
    MemoryReader reader(bad);
    auto loaded = LoadIndex(reader);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss)
        << "flip at " << offset << ": " << loaded.status();
  }
  // A rotated index behind another rotation: the outer header and rotation
  // of this file, then this whole file again as the inner container.
  {
    uint64_t rotation_length = 0;
    std::memcpy(&rotation_length, bytes.data() + io::kHeaderBytes + 8, 8);
    const size_t inner_at =
        io::kHeaderBytes + io::kSectionHeaderBytes + rotation_length + 4;
    const std::string nested = bytes.substr(0, inner_at) + bytes;
    MemoryReader reader(nested);
    auto loaded = LoadIndex(reader);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss)
        << loaded.status();
  }
  for (size_t cut : {size_t{10}, size_t{io::kHeaderBytes + 8}, matrix_at + 100,
                     bytes.size() / 2, bytes.size() - 1}) {
    MemoryReader reader(std::string_view(bytes).substr(0, cut));
    auto loaded = LoadIndex(reader);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss)
        << "cut at " << cut << ": " << loaded.status();
  }
}

TEST(RotatedIndexTest, InspectShowsRotationThenInnerContainer) {
  const int d = 10;
  std::vector<float> base = ClusteredVectors(200, d, 4, 12);
  auto index = Make("Rot,IVF4,Flat", d, Metric::kCosine);
  ASSERT_NE(index, nullptr);
  Build(*index, base, d);
  const std::string path = TempPath("inspect_rotated.vindex");
  ASSERT_TRUE(SaveIndexToFile(*index, path).ok());
  auto report = InspectIndexFile(path);
  std::remove(path.c_str());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->complete) << report->problem;
  EXPECT_EQ(report->header.family, IndexFamily::kRotated);
  EXPECT_EQ(report->header.count, 200u);
  ASSERT_TRUE(report->inner_header.has_value());
  EXPECT_EQ(report->inner_header->family, IndexFamily::kIvfFlat);
  EXPECT_EQ(report->inner_header->metric, Metric::kCosine);
  ASSERT_GE(report->sections.size(), 2u);
  EXPECT_EQ(report->sections.front().tag, "ROTN");
  EXPECT_EQ(report->sections.back().tag, "END_");
  // The inner container starts 64-byte aligned, as a file of its own does.
  const IndexFileSection& rotation = report->sections.front();
  EXPECT_EQ(
      (rotation.offset + io::kSectionHeaderBytes + rotation.length + 4) % 64,
      0u);
}

TEST(RotatedIndexTest, UntrainedIndexSavesLoadsAndTrainsLater) {
  const int d = 8;
  std::vector<float> base = ClusteredVectors(300, d, 4, 13);
  auto index = Make("Rot,IVF4,Flat", d);
  ASSERT_NE(index, nullptr);
  const std::string bytes = Saved(*index);
  MemoryReader reader(bytes);
  auto loaded = LoadIndex(reader);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE((*loaded)->info().trained);
  EXPECT_EQ((*loaded)->info().description, "Rot,IVF4,Flat");
  Build(**loaded, base, d);
  EXPECT_EQ((*loaded)->info().size, 300);
  EXPECT_EQ(RotationOf(**loaded).size(), size_t{d} * d);
}

TEST(RotatedIndexTest, BadInputIsRefusedAndChangesNothing) {
  const int d = 8;
  std::vector<float> base = ClusteredVectors(200, d, 4, 10);
  auto rot = Make("Rot,HNSW8", d);
  ASSERT_NE(rot, nullptr);
  MatrixView<const float> view(base.data(), 200, d);
  std::vector<int64_t> ids = SequentialIds(200);
  EXPECT_EQ(rot->Add(view, ids).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(rot->info().trained);
  ASSERT_TRUE(rot->Train(view).ok());
  EXPECT_TRUE(rot->info().trained);
  ASSERT_TRUE(rot->Add(MatrixView<const float>(base.data(), 100, d),
                       absl::MakeSpan(ids).subspan(0, 100))
                  .ok());
  const std::string before = Saved(*rot);

  // Wrong dim.
  EXPECT_EQ(rot->Add(MatrixView<const float>(base.data(), 50, d - 1),
                     absl::MakeSpan(ids).subspan(100, 50))
                .code(),
            absl::StatusCode::kInvalidArgument);
  // A NaN in the last row: nothing of the batch may be added.
  std::vector<float> bad(base.begin() + 100 * d, base.begin() + 150 * d);
  bad.back() = std::nanf("");
  const absl::Status nan_status =
      rot->Add(MatrixView<const float>(bad.data(), 50, d),
               absl::MakeSpan(ids).subspan(100, 50));
  EXPECT_EQ(nan_status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(nan_status.message().find("vector"), std::string::npos)
      << nan_status;
  bad.back() = INFINITY;
  EXPECT_EQ(rot->Add(MatrixView<const float>(bad.data(), 50, d),
                     absl::MakeSpan(ids).subspan(100, 50))
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Ids already present.
  EXPECT_EQ(rot->Add(MatrixView<const float>(base.data(), 10, d),
                     absl::MakeSpan(ids).subspan(0, 10))
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Retraining a non-empty index.
  EXPECT_EQ(rot->Train(view).code(), absl::StatusCode::kFailedPrecondition);
  // Queries: NaN, wrong dim, bad k.
  std::vector<float> q(base.begin(), base.begin() + 2 * d);
  q[3] = std::nanf("");
  EXPECT_EQ(RunSearch(*rot, q, d, SearchParams{.k = 3}).status.code(),
            absl::StatusCode::kInvalidArgument);
  q[3] = 0;
  EXPECT_EQ(RunSearch(*rot, q, d, SearchParams{.k = 0}).status.code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<int64_t> out_ids(2 * 3);
  std::vector<float> out_d(2 * 3);
  EXPECT_EQ(
      rot->Search(MatrixView<const float>(q.data(), 2, d - 1),
                  SearchParams{.k = 3},
                  SearchOutput{{out_ids.data(), 2, 3}, {out_d.data(), 2, 3}})
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Saved(*rot), before);
  EXPECT_EQ(rot->info().size, 100);
}

TEST(RotatedIndexTest, FactoryStrings) {
  for (const char* spec :
       {"Rot,Flat", "Rot,HNSW32", "Rot,HNSW32,SQ8", "Rot,IVF16,Flat",
        "Rot,IVF16,PQ4x4fs,Rerank", " Rot , HNSW8"}) {
    auto index = MakeIndex(spec, 16);
    EXPECT_TRUE(index.ok()) << spec << ": " << index.status();
    if (index.ok()) {
      EXPECT_EQ((*index)->info().description.rfind("Rot,", 0), 0u);
      EXPECT_TRUE((*index)->capabilities().needs_training);
    }
  }
  for (const char* spec : {"Rot", "Rot,", "Rot, ", "Rot,Rot,Flat", "Rot,HNSW",
                           "Rot,IVF16", "Rot,Flat,SQ8", "Rotx,Flat"}) {
    auto index = MakeIndex(spec, 16);
    EXPECT_EQ(index.status().code(), absl::StatusCode::kInvalidArgument)
        << spec;
  }
  // The inner part's errors are the plain factory's errors.
  EXPECT_EQ(MakeIndex("Rot,HNSW", 16).status(), MakeIndex("HNSW", 16).status());
  // Rot has no options struct of its own.
  EXPECT_EQ(ParseIndexSpec("Rot,HNSW32", 16).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Wrapping by hand: any empty index, but not a rotated one.
  auto inner = MakeIndex("HNSW8", 16);
  ASSERT_TRUE(inner.ok());
  auto wrapped = MakeRotatedIndex(std::move(*inner));
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(MakeRotatedIndex(std::move(*wrapped)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Add may run while another thread searches (HNSW allows it); every search
// succeeds and returns only ids added so far.
TEST(RotatedIndexTest, AddWhileAnotherThreadSearches) {
  const int d = 16, k = 5;
  const int64_t n = 2000;
  std::vector<float> base = ClusteredVectors(n, d, 8, 11);
  auto rot = Make("Rot,HNSW8", d);
  ASSERT_NE(rot, nullptr);
  ASSERT_TRUE(rot->capabilities().add_during_search);
  ASSERT_TRUE(rot->Train(MatrixView<const float>(base.data(), n, d)).ok());
  std::vector<int64_t> ids = SequentialIds(n);
  ASSERT_TRUE(rot->Add(MatrixView<const float>(base.data(), 100, d),
                       absl::MakeSpan(ids).subspan(0, 100))
                  .ok());
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread searcher([&] {
    std::vector<float> q(base.begin(), base.begin() + 4 * d);
    while (!done.load()) {
      testing::SearchResult r = RunSearch(*rot, q, d, SearchParams{.k = k});
      if (!r.status.ok()) ++failures;
      for (int64_t id : r.ids) {
        if (id < -1 || id >= n) ++failures;
      }
    }
  });
  for (int64_t begin = 100; begin < n; begin += 100) {
    ASSERT_TRUE(
        rot->Add(MatrixView<const float>(base.data() + begin * d, 100, d),
                 absl::MakeSpan(ids).subspan(begin, 100))
            .ok());
  }
  done = true;
  searcher.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(rot->info().size, n);
}

}  // namespace
}  // namespace vindex
