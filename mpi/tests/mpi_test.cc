// Distributed k-means, build and search under mpirun (1, 2 and 4 ranks):
// exact equality with one process, manifest round trips, and failures that
// every rank reports alike.

#include <mpi.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"
#include "train/kmeans.h"
#include "vindex/index.h"
#include "vindex/ivf_quantizer.h"
#include "vindex/mpi/communicator.h"
#include "vindex/mpi/distributed.h"
#include "vindex/vector_files.h"

namespace vindex::mpi {
namespace {

constexpr int kDim = 16;

Communicator& Comm() {
  static Communicator* comm = [] {
    auto c = Communicator::Create();
    if (!c.ok()) std::abort();
    return new Communicator(*std::move(c));
  }();
  return *comm;
}

// The whole data set (every rank makes all of it) and this rank's slice.
// Rows come in pairs of equal vectors, so searches meet exact ties.
std::vector<float> WholeData(int64_t n, uint64_t seed) {
  std::vector<float> x = testing::ClusteredVectors(n / 2, kDim, 8, seed);
  std::vector<float> out;
  for (int64_t i = 0; i < n / 2; ++i) {
    out.insert(out.end(), x.begin() + i * kDim, x.begin() + (i + 1) * kDim);
    out.insert(out.end(), x.begin() + i * kDim, x.begin() + (i + 1) * kDim);
  }
  return out;
}

struct Slice {
  int64_t begin, end;
};
Slice MySlice(int64_t n) {
  const int r = Comm().rank(), p = Comm().size();
  return {n * r / p, n * (r + 1) / p};
}

// A folder every rank agrees on (made by rank 0).
std::string SharedTempDir(const std::string& tag) {
  std::string dir;
  if (Comm().rank() == 0) {
    std::string tmpl = std::filesystem::temp_directory_path().string() +
                       "/vindex_mpi_" + tag + "_XXXXXX";
    char* made = mkdtemp(tmpl.data());
    if (made == nullptr) std::abort();
    dir = made;
  }
  if (!Comm().BroadcastString(&dir, 0).ok()) std::abort();
  return dir;
}

// The status strings of every rank, to check that they all agree.
std::vector<std::string> AllStatuses(const absl::Status& s) {
  std::string mine = s.ToString();
  mine.push_back('\0');
  std::string all;
  EXPECT_TRUE(Comm().AllGatherBytes(mine, &all).ok());
  std::vector<std::string> out;
  size_t at = 0;
  while (at < all.size()) {
    size_t end = all.find('\0', at);
    out.push_back(all.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

void ExpectSameErrorEverywhere(const absl::Status& s, absl::StatusCode code) {
  EXPECT_EQ(s.code(), code) << s;
  const std::vector<std::string> all = AllStatuses(s);
  ASSERT_EQ(static_cast<int>(all.size()), Comm().size());
  for (const std::string& one : all) EXPECT_EQ(one, all[0]);
}

TEST(CommunicatorTest, AgreeOnStatusReturnsTheLowestFailingRank) {
  const int p = Comm().size();
  absl::Status local;
  if (Comm().rank() == p - 1) local = absl::DataLossError("last rank broke");
  absl::Status agreed = Comm().AgreeOnStatus(local);
  EXPECT_EQ(agreed.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(agreed.message(),
            "rank " + std::to_string(p - 1) + ": last rank broke");
  EXPECT_TRUE(Comm().AgreeOnStatus(absl::OkStatus()).ok());
}

TEST(DistributedKMeansTest, CentroidsAreBitIdenticalToOneProcess) {
  const int64_t n = 3000;
  std::vector<float> x = WholeData(n, 11);
  // Magnitudes spread over 2^-40 .. 2^40: floating-point sums of these
  // depend on their order, so only exact sums agree across splits.
  std::vector<float> wide = x;
  for (size_t i = 0; i < wide.size(); ++i) {
    wide[i] = std::ldexp(wide[i], static_cast<int>((i * 7919) % 81) - 40);
  }
  const Slice s = MySlice(n);
  for (const std::vector<float>* data : {&x, &wide}) {
    for (bool subsample : {false, true}) {
      DistributedKMeansOptions o{
          .k = 20,
          .iterations = 6,
          .max_points_per_centroid = subsample ? 64 : 1000,
          .seed = 5};
      absl::StatusOr<std::vector<float>> dist = DistributedKMeans(
          Comm(),
          MatrixView<const float>(data->data() + s.begin * kDim,
                                  s.end - s.begin, kDim),
          o);
      ASSERT_TRUE(dist.ok()) << dist.status();
      train::KMeansOptions ko;
      ko.k = o.k;
      ko.iterations = o.iterations;
      ko.max_points_per_centroid = o.max_points_per_centroid;
      ko.seed = o.seed;
      auto one =
          train::KMeans(MatrixView<const float>(data->data(), n, kDim), ko);
      ASSERT_TRUE(one.ok());
      ASSERT_EQ(dist->size(), one->centroids.size());
      EXPECT_EQ(std::memcmp(dist->data(), one->centroids.data(),
                            dist->size() * sizeof(float)),
                0)
          << "subsample " << subsample << " wide " << (data == &wide);
    }
  }
}

TEST(DistributedKMeansTest, SumsThatCancelAreExactWhateverTheSplit) {
  // One cluster holding +2^60, ones, and -2^60: a floating-point sum loses
  // the ones differently for each split of the rows; an exact one does not.
  const int64_t n = 1000;
  std::vector<float> x(n * kDim, 1.0f);
  std::fill_n(x.begin(), kDim, std::ldexp(1.0f, 60));
  std::fill_n(x.end() - kDim, kDim, -std::ldexp(1.0f, 60));
  const Slice s = MySlice(n);
  DistributedKMeansOptions o{
      .k = 1, .iterations = 2, .max_points_per_centroid = 1000, .seed = 9};
  auto dist = DistributedKMeans(
      Comm(),
      MatrixView<const float>(x.data() + s.begin * kDim, s.end - s.begin, kDim),
      o);
  ASSERT_TRUE(dist.ok()) << dist.status();
  // The mean is exactly 998 / 1000 (ones) in every coordinate.
  for (float c : *dist) EXPECT_EQ(c, static_cast<float>(998.0 / 1000.0));
}

TEST(DistributedKMeansTest, IvfCentroidsMatchIvfTrainForEveryMetric) {
  const int64_t n = 2000;
  const std::vector<float> x = WholeData(n, 12);
  const Slice s = MySlice(n);
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    IvfCommonOptions ivf{
        .dim = kDim, .metric = metric, .nlist = 16, .kmeans_iterations = 5};
    auto dist =
        TrainIvfCentroids(Comm(), ivf,
                          MatrixView<const float>(x.data() + s.begin * kDim,
                                                  s.end - s.begin, kDim));
    ASSERT_TRUE(dist.ok()) << dist.status();
    auto index = MakeIndex(IvfFlatOptions{.ivf = ivf});
    ASSERT_TRUE(index.ok());
    ASSERT_TRUE(
        (*index)->Train(MatrixView<const float>(x.data(), n, kDim)).ok());
    auto one = IvfCentroids(**index);
    ASSERT_TRUE(one.ok());
    ASSERT_EQ(dist->size(), one->size());
    EXPECT_EQ(std::memcmp(dist->data(), one->data(), one->size() * 4), 0)
        << MetricName(metric);
  }
}

struct Built {
  std::string dir;
  std::vector<float> data;
  std::vector<float> queries;
  std::unique_ptr<Index> single;  // On every rank, the same build in one.
};

// Builds `spec` sharded over the ranks and in one process.
Built BuildBoth(const IndexSpec& spec, const std::string& tag,
                int64_t n = 1200) {
  Built b;
  b.dir = SharedTempDir(tag);
  b.data = WholeData(n, 21);
  b.queries = testing::ClusteredVectors(37, kDim, 8, 22);
  // Queries equal to stored rows: exact ties at distance 0.
  b.queries.insert(b.queries.end(), b.data.begin(), b.data.begin() + 3 * kDim);
  const Slice s = MySlice(n);
  std::vector<int64_t> ids = testing::SequentialIds(s.end - s.begin, s.begin);
  absl::Status st =
      BuildShardedIndex(Comm(), spec,
                        MatrixView<const float>(b.data.data() + s.begin * kDim,
                                                s.end - s.begin, kDim),
                        ids, b.dir);
  EXPECT_TRUE(st.ok()) << st;
  auto single = MakeIndex(spec);
  EXPECT_TRUE(single.ok());
  b.single = *std::move(single);
  MatrixView<const float> all(b.data.data(), n, kDim);
  EXPECT_TRUE(b.single->Train(all).ok());
  EXPECT_TRUE(b.single->Add(all, testing::SequentialIds(n)).ok());
  return b;
}

// Searches the sharded index across ranks and checks, on rank 0, that the
// answers equal the single-process index's exactly.
void ExpectSameAnswers(ShardedSearcher& searcher, const Built& b,
                       SearchParams params,
                       const std::vector<int64_t>* allow = nullptr,
                       int64_t batch_rows = 16) {
  const int64_t nq = static_cast<int64_t>(b.queries.size()) / kDim;
  const int k = params.k;
  std::vector<int64_t> ids(nq * k, -7);
  std::vector<float> dists(nq * k, -7);
  ShardedSearchOptions so{
      .params = params, .allow_list = allow, .batch_rows = batch_rows};
  const bool root = Comm().rank() == 0;
  MatrixView<const float> q =
      root ? MatrixView<const float>(b.queries.data(), nq, kDim)
           : MatrixView<const float>();
  SearchOutput out = root ? SearchOutput{MatrixView<int64_t>(ids.data(), nq, k),
                                         MatrixView<float>(dists.data(), nq, k)}
                          : SearchOutput{};
  SearchTraffic traffic;
  absl::Status st = searcher.Search(q, so, out, nullptr, &traffic);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(traffic.batches, (nq + batch_rows - 1) / batch_rows);
  if (!root) return;
  std::optional<IdFilter> filter;
  if (allow != nullptr) {
    filter = IdFilter::AllowList(*allow);
    params.filter = &*filter;
  }
  // The reference: the single-process index searching the same batches
  // (an index's float rounding may depend on the batch it is given: GEMM or
  // scan), or in replicated mode the same share of each batch.
  std::vector<int64_t> want_ids(nq * k);
  std::vector<float> want_d(nq * k);
  const int p = searcher.replicated() ? Comm().size() : 1;
  for (int64_t q0 = 0; q0 < nq; q0 += batch_rows) {
    const int64_t bn = std::min(batch_rows, nq - q0);
    for (int r = 0; r < p; ++r) {
      const int64_t r0 = q0 + bn * r / p, r1 = q0 + bn * (r + 1) / p;
      if (r1 == r0) continue;
      ASSERT_TRUE(
          b.single
              ->Search(
                  MatrixView<const float>(b.queries.data() + r0 * kDim, r1 - r0,
                                          kDim),
                  params,
                  {MatrixView<int64_t>(want_ids.data() + r0 * k, r1 - r0, k),
                   MatrixView<float>(want_d.data() + r0 * k, r1 - r0, k)})
              .ok());
    }
  }
  EXPECT_EQ(ids, want_ids);
  for (int64_t i = 0; i < nq * k; ++i) {
    ASSERT_EQ(std::memcmp(&dists[i], &want_d[i], 4), 0)
        << "query " << i / k << " rank " << i % k << ": " << dists[i] << " vs "
        << want_d[i];
  }
  // The same folder loaded whole in this one process answers alike.
  if (searcher.replicated()) return;  // Its folder holds no manifest.
  auto whole = LoadShardedIndex(b.dir);
  ASSERT_TRUE(whole.ok()) << whole.status();
  std::vector<int64_t> got_ids(nq * k);
  std::vector<float> got_d(nq * k);
  for (int64_t q0 = 0; q0 < nq; q0 += batch_rows) {
    const int64_t bn = std::min(batch_rows, nq - q0);
    ASSERT_TRUE(
        (*whole)
            ->Search(
                MatrixView<const float>(b.queries.data() + q0 * kDim, bn, kDim),
                params,
                {MatrixView<int64_t>(got_ids.data() + q0 * k, bn, k),
                 MatrixView<float>(got_d.data() + q0 * k, bn, k)})
            .ok());
  }
  EXPECT_EQ(got_ids, want_ids);
  EXPECT_EQ(std::memcmp(got_d.data(), want_d.data(), want_d.size() * 4), 0);
  EXPECT_EQ((*whole)->info().size, b.single->info().size);
}

std::vector<int64_t> EveryThirdId(int64_t n) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n; i += 3) ids.push_back(i);
  return ids;
}

TEST(ShardedSearchTest, FlatEqualsOneProcessExactly) {
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct}) {
    Built b = BuildBoth(FlatOptions{.dim = kDim, .metric = metric}, "flat");
    auto searcher = ShardedSearcher::Open(Comm(), b.dir);
    ASSERT_TRUE(searcher.ok()) << searcher.status();
    ExpectSameAnswers(*searcher, b, SearchParams{.k = 10});
    const std::vector<int64_t> allow = EveryThirdId(1200);
    ExpectSameAnswers(*searcher, b, SearchParams{.k = 7}, &allow);
  }
}

TEST(ShardedSearchTest, IvfFlatEqualsOneProcessExactly) {
  for (Metric metric : {Metric::kL2, Metric::kCosine}) {
    IvfFlatOptions o{.ivf = {.dim = kDim,
                             .metric = metric,
                             .nlist = 24,
                             .default_nprobe = 3,
                             .kmeans_iterations = 6}};
    Built b = BuildBoth(o, "ivfflat");
    auto searcher = ShardedSearcher::Open(Comm(), b.dir);
    ASSERT_TRUE(searcher.ok()) << searcher.status();
    EXPECT_FALSE(searcher->manifest().list_shard.empty());
    ExpectSameAnswers(*searcher, b, SearchParams{.k = 10});
    ExpectSameAnswers(*searcher, b, SearchParams{.k = 5, .nprobe = 24});
    const std::vector<int64_t> allow = EveryThirdId(1200);
    ExpectSameAnswers(*searcher, b, SearchParams{.k = 6, .nprobe = 5}, &allow);
  }
}

// Routing: each rank receives only the queries that probe a list it owns
// (the probes computed by rank 0 with the shared coarse quantizer), and the
// answers still equal one process's, in both list-scan regimes (small
// batches scan per query, a whole batch at nprobe 24 scans by GEMM).
TEST(ShardedSearchTest, IvfQueriesGoOnlyToRanksOwningTheirProbedLists) {
  IvfFlatOptions o{.ivf = {.dim = kDim, .nlist = 24, .kmeans_iterations = 6}};
  Built b = BuildBoth(o, "routed");
  auto searcher = ShardedSearcher::Open(Comm(), b.dir);
  ASSERT_TRUE(searcher.ok()) << searcher.status();
  const int64_t nq = static_cast<int64_t>(b.queries.size()) / kDim;
  ExpectSameAnswers(*searcher, b, SearchParams{.k = 10, .nprobe = 24}, nullptr,
                    nq);
  ExpectSameAnswers(*searcher, b, SearchParams{.k = 10, .nprobe = 2}, nullptr,
                    nq);
  const int nprobe = 2, k = 5;
  std::vector<int64_t> ids(nq * k);
  std::vector<float> dists(nq * k);
  const bool root = Comm().rank() == 0;
  MatrixView<const float> q(b.queries.data(), nq, kDim);
  SearchTraffic traffic;
  ASSERT_TRUE(
      searcher
          ->Search(root ? q : MatrixView<const float>(),
                   {.params = {.k = k, .nprobe = nprobe}, .batch_rows = nq},
                   root ? SearchOutput{MatrixView<int64_t>(ids.data(), nq, k),
                                       MatrixView<float>(dists.data(), nq, k)}
                        : SearchOutput{},
                   nullptr, &traffic)
          .ok());
  // Each rank scans exactly the queries probing a list it owns.
  std::vector<int64_t> probe;
  std::vector<float> coarse;
  int np = 0;
  ASSERT_TRUE(ProbeIvfLists(*b.single, q, nprobe, &probe, &coarse, &np).ok());
  const std::vector<int32_t>& owner = searcher->manifest().list_shard;
  std::vector<int64_t> routed(Comm().size(), 0);
  for (int64_t i = 0; i < nq; ++i) {
    for (int r = 0; r < Comm().size(); ++r) {
      bool owns = false;
      for (int p = 0; p < np; ++p) owns = owns || owner[probe[i * np + p]] == r;
      routed[r] += owns;
    }
  }
  EXPECT_EQ(traffic.routed_queries, routed[Comm().rank()]);
  int64_t total_routed = 0;
  for (int64_t c : routed) total_routed += c;
  // A query probes 2 lists, so it reaches at most 2 ranks.
  EXPECT_LE(total_routed, 2 * nq);
  // Every query's coarse step ran once, on one rank.
  int64_t coarse_total[1] = {traffic.coarse_queries};
  ASSERT_TRUE(Comm().SumInt64(absl::MakeSpan(coarse_total)).ok());
  EXPECT_EQ(coarse_total[0], nq);
}

// The coarse step is spread over the ranks in slices of whole GEMM query
// tiles, and the answers equal one process's for batch sizes around the
// GEMM threshold and the query tile (where a split that cut other tiles, or
// sent a slice down the other path, would round coarse scores differently).
TEST(ShardedSearchTest, SpreadCoarseStepKeepsEveryAnswer) {
  // IVF-PQ adds the coarse score to every distance, so a coarse score
  // rounded differently changes the answers' bits, not only the probes.
  const IndexSpec specs[] = {
      IvfFlatOptions{.ivf = {.dim = kDim,
                             .nlist = 24,
                             .default_nprobe = 3,
                             .kmeans_iterations = 6}},
      IvfFlatOptions{.ivf = {.dim = kDim,
                             .metric = Metric::kInnerProduct,
                             .nlist = 24,
                             .default_nprobe = 3,
                             .kmeans_iterations = 6}},
      IvfPqOptions{.ivf = {.dim = kDim,
                           .nlist = 16,
                           .default_nprobe = 3,
                           .kmeans_iterations = 4},
                   .pq_m = 4,
                   .pq_bits = 8}};
  for (const IndexSpec& o : specs) {
    Built b = BuildBoth(o, "spread");
    // 300 queries from the data's clusters: batches up to 3 tiles.
    b.queries = testing::ClusteredVectors(300, kDim, 8, 23);
    const int64_t nq = 300;
    auto searcher = ShardedSearcher::Open(Comm(), b.dir);
    ASSERT_TRUE(searcher.ok()) << searcher.status();
    for (int64_t rows : {1, 3, 4, 5, 7, 8, 127, 128, 129, 255, 256, 257, 300}) {
      SCOPED_TRACE(rows);
      ExpectSameAnswers(*searcher, b, SearchParams{.k = 10}, nullptr, rows);
    }
    // One batch of 300 rows is 3 tiles (128, 128, 44), whole tiles per rank:
    // 2 ranks probe 128 and 172 rows, 4 ranks 0, 128, 128 and 44.
    const int k = 4;
    std::vector<int64_t> ids(nq * k);
    std::vector<float> dists(nq * k);
    const bool root = Comm().rank() == 0;
    SearchTraffic traffic;
    ASSERT_TRUE(
        searcher
            ->Search(root ? MatrixView<const float>(b.queries.data(), nq, kDim)
                          : MatrixView<const float>(),
                     {.params = {.k = k}, .batch_rows = nq},
                     root ? SearchOutput{MatrixView<int64_t>(ids.data(), nq, k),
                                         MatrixView<float>(dists.data(), nq, k)}
                          : SearchOutput{},
                     nullptr, &traffic)
            .ok());
    // Whole tiles on every rank but the last.
    EXPECT_TRUE(traffic.coarse_queries % 128 == 0 ||
                Comm().rank() == Comm().size() - 1)
        << traffic.coarse_queries;
    int64_t most[1] = {traffic.coarse_queries};
    int64_t total[1] = {traffic.coarse_queries};
    ASSERT_TRUE(Comm().MaxInt64(absl::MakeSpan(most)).ok());
    ASSERT_TRUE(Comm().SumInt64(absl::MakeSpan(total)).ok());
    EXPECT_EQ(total[0], nq);
    EXPECT_EQ(most[0], Comm().size() == 1   ? 300
                       : Comm().size() == 2 ? 172
                                            : 128);
  }
}

// With 2 threads per rank a 300-row batch is cut into 128-row tiles, but a
// rank would cut a 128-row slice into 64-row tiles: the slices cannot match,
// so rank 0 probes the whole batch, and the answers equal one process
// searching with 2 threads.
TEST(ShardedSearchTest, CoarseStepStaysOnRankZeroWhereSlicesCannotMatch) {
  IvfPqOptions o{.ivf = {.dim = kDim,
                         .nlist = 16,
                         .default_nprobe = 3,
                         .kmeans_iterations = 4},
                 .pq_m = 4,
                 .pq_bits = 8};
  Built b = BuildBoth(o, "fallback");
  b.queries = testing::ClusteredVectors(300, kDim, 8, 23);
  const int64_t nq = 300;
  const int k = 5;
  auto searcher = ShardedSearcher::Open(Comm(), b.dir);
  ASSERT_TRUE(searcher.ok()) << searcher.status();
  ThreadPool pool(2);
  const bool root = Comm().rank() == 0;
  std::vector<int64_t> ids(nq * k);
  std::vector<float> dists(nq * k);
  SearchTraffic traffic;
  ASSERT_TRUE(
      searcher
          ->Search(root ? MatrixView<const float>(b.queries.data(), nq, kDim)
                        : MatrixView<const float>(),
                   {.params = {.k = k}, .batch_rows = nq},
                   root ? SearchOutput{MatrixView<int64_t>(ids.data(), nq, k),
                                       MatrixView<float>(dists.data(), nq, k)}
                        : SearchOutput{},
                   &pool, &traffic)
          .ok());
  EXPECT_EQ(traffic.coarse_queries, root ? nq : 0);
  if (!root) return;
  std::vector<int64_t> want_ids(nq * k);
  std::vector<float> want_d(nq * k);
  ASSERT_TRUE(b.single
                  ->Search(MatrixView<const float>(b.queries.data(), nq, kDim),
                           SearchParams{.k = k},
                           {MatrixView<int64_t>(want_ids.data(), nq, k),
                            MatrixView<float>(want_d.data(), nq, k)},
                           &pool)
                  .ok());
  EXPECT_EQ(ids, want_ids);
  EXPECT_EQ(std::memcmp(dists.data(), want_d.data(), want_d.size() * 4), 0);
}

TEST(ShardedSearchTest, IvfPqEqualsOneProcessExactly) {
  IvfPqOptions o{.ivf = {.dim = kDim,
                         .nlist = 16,
                         .default_nprobe = 4,
                         .kmeans_iterations = 4},
                 .pq_m = 4,
                 .pq_bits = 8,
                 .keep_raw_vectors = true};
  Built b = BuildBoth(o, "ivfpq");
  auto searcher = ShardedSearcher::Open(Comm(), b.dir);
  ASSERT_TRUE(searcher.ok()) << searcher.status();
  ExpectSameAnswers(*searcher, b, SearchParams{.k = 8});
  ExpectSameAnswers(*searcher, b, SearchParams{.k = 8, .rerank_factor = 4});
}

TEST(ShardedSearchTest, HnswShardsFindTheExactNeighbours) {
  // HNSW shards hold row ranges; graphs differ from one process's, so the
  // check is recall against exact search (Flat), floor 0.95 at ef 200.
  Built b = BuildBoth(HnswOptions{.dim = kDim, .m = 12, .ef_construction = 64},
                      "hnsw");
  auto searcher = ShardedSearcher::Open(Comm(), b.dir);
  ASSERT_TRUE(searcher.ok()) << searcher.status();
  EXPECT_TRUE(searcher->manifest().list_shard.empty());
  const int64_t nq = static_cast<int64_t>(b.queries.size()) / kDim;
  const int k = 10;
  std::vector<int64_t> ids(nq * k);
  std::vector<float> d(nq * k);
  const bool root = Comm().rank() == 0;
  ASSERT_TRUE(
      searcher
          ->Search(root ? MatrixView<const float>(b.queries.data(), nq, kDim)
                        : MatrixView<const float>(),
                   {.params = {.k = k, .ef = 200}},
                   root ? SearchOutput{{ids.data(), nq, k}, {d.data(), nq, k}}
                        : SearchOutput{})
          .ok());
  if (!root) return;
  auto flat = MakeIndex(FlatOptions{.dim = kDim});
  ASSERT_TRUE(flat.ok());
  MatrixView<const float> all(b.data.data(), 1200, kDim);
  ASSERT_TRUE((*flat)->Add(all, testing::SequentialIds(1200)).ok());
  std::vector<int64_t> truth(nq * k);
  std::vector<float> td(nq * k);
  ASSERT_TRUE((*flat)
                  ->Search(MatrixView<const float>(b.queries.data(), nq, kDim),
                           {.k = k},
                           {{truth.data(), nq, k}, {td.data(), nq, k}})
                  .ok());
  // Rows come in equal pairs, so compare distances, not ids.
  int64_t hits = 0;
  for (int64_t q = 0; q < nq; ++q) {
    const float kth = td[q * k + k - 1];
    for (int j = 0; j < k; ++j) hits += d[q * k + j] <= kth * 1.0001f + 1e-6f;
  }
  EXPECT_GE(static_cast<double>(hits) / (nq * k), 0.95);
}

TEST(ShardedSearchTest, ReplicatedEqualsOneProcessExactly) {
  Built b = BuildBoth(FlatOptions{.dim = kDim}, "replicated");
  const std::string path = b.dir + "/whole.vindex";
  absl::Status saved;
  if (Comm().rank() == 0) saved = SaveIndexToFile(*b.single, path);
  ASSERT_TRUE(Comm().AgreeOnStatus(saved).ok());
  auto searcher = ShardedSearcher::OpenReplicated(Comm(), path);
  ASSERT_TRUE(searcher.ok()) << searcher.status();
  EXPECT_TRUE(searcher->local_index().info().memory_mapped);
  ExpectSameAnswers(*searcher, b, SearchParams{.k = 9}, nullptr, 13);
}

TEST(ShardedBuildTest, RebuildReplacesTheGenerationAndDropsOldShards) {
  Built b = BuildBoth(FlatOptions{.dim = kDim}, "rebuild");
  auto first = ReadManifest(b.dir);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->generation, 1u);
  EXPECT_EQ(first->total_vectors, 1200);
  EXPECT_EQ(static_cast<int>(first->shards.size()), Comm().size());
  // Round trip of the manifest bytes.
  auto again = DecodeManifest(EncodeManifest(*first));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(EncodeManifest(*again), EncodeManifest(*first));
  ASSERT_TRUE(Comm().Barrier().ok());
  const Slice s = MySlice(1200);
  ASSERT_TRUE(
      BuildShardedIndex(Comm(), FlatOptions{.dim = kDim},
                        MatrixView<const float>(b.data.data() + s.begin * kDim,
                                                s.end - s.begin, kDim),
                        testing::SequentialIds(s.end - s.begin, s.begin), b.dir)
          .ok());
  auto second = ReadManifest(b.dir);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->generation, 2u);
  for (const ShardFile& f : first->shards) {
    EXPECT_FALSE(std::filesystem::exists(b.dir + "/" + f.name)) << f.name;
  }
}

TEST(ShardedBuildTest, ReadsOnlyItsRowsFromAFile) {
  const int64_t n = 900;
  const std::vector<float> data = WholeData(n, 31);
  const std::string dir = SharedTempDir("fromfile");
  const std::string input = dir + "/base.fvecs";
  absl::Status written;
  if (Comm().rank() == 0) {
    written = WriteFvecs(input, MatrixView<const float>(data.data(), n, kDim));
  }
  ASSERT_TRUE(Comm().AgreeOnStatus(written).ok());
  IvfFlatOptions o{.ivf = {.dim = kDim, .nlist = 12, .kmeans_iterations = 4}};
  ASSERT_TRUE(BuildShardedIndexFromFile(Comm(), o, input, dir + "/idx").ok());
  auto single = MakeIndex(o);
  ASSERT_TRUE(single.ok());
  MatrixView<const float> all(data.data(), n, kDim);
  ASSERT_TRUE((*single)->Train(all).ok());
  ASSERT_TRUE((*single)->Add(all, testing::SequentialIds(n)).ok());
  if (Comm().rank() == 0) {
    auto whole = LoadShardedIndex(dir + "/idx");
    ASSERT_TRUE(whole.ok()) << whole.status();
    std::vector<int64_t> a(n * 4), w(n * 4);
    std::vector<float> ad(n * 4), wd(n * 4);
    ASSERT_TRUE(
        (*whole)
            ->Search(all, {.k = 4}, {{a.data(), n, 4}, {ad.data(), n, 4}})
            .ok());
    ASSERT_TRUE(
        (*single)
            ->Search(all, {.k = 4}, {{w.data(), n, 4}, {wd.data(), n, 4}})
            .ok());
    EXPECT_EQ(a, w);
    EXPECT_EQ(ad, wd);
  }
}

// ---- failures: the same Status on every rank, no hang ----

TEST(ShardedFailureTest, BadInputRowOnOneRankFailsEveryRank) {
  const int64_t n = 400;
  std::vector<float> data = WholeData(n, 41);
  const Slice s = MySlice(n);
  const std::string dir = SharedTempDir("badrow");
  if (Comm().rank() == Comm().size() - 1) {
    data[(s.end - 1) * kDim + 3] = std::numeric_limits<float>::quiet_NaN();
  }
  for (IndexSpec spec :
       {IndexSpec(FlatOptions{.dim = kDim}),
        IndexSpec(IvfFlatOptions{.ivf = {.dim = kDim, .nlist = 8}})}) {
    absl::Status st = BuildShardedIndex(
        Comm(), spec,
        MatrixView<const float>(data.data() + s.begin * kDim, s.end - s.begin,
                                kDim),
        testing::SequentialIds(s.end - s.begin, s.begin), dir);
    ExpectSameErrorEverywhere(st, absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/MANIFEST"));
}

TEST(ShardedFailureTest, OneRankFailingFailsEveryRank) {
  const int64_t n = 400;
  const std::vector<float> data = WholeData(n, 42);
  const Slice s = MySlice(n);
  const std::string dir = SharedTempDir("onefails");
  std::vector<int64_t> ids = testing::SequentialIds(s.end - s.begin, s.begin);
  if (Comm().rank() == Comm().size() - 1) ids.pop_back();  // One id short.
  absl::Status st =
      BuildShardedIndex(Comm(), FlatOptions{.dim = kDim},
                        MatrixView<const float>(data.data() + s.begin * kDim,
                                                s.end - s.begin, kDim),
                        ids, dir);
  ExpectSameErrorEverywhere(st, absl::StatusCode::kInvalidArgument);
}

TEST(ShardedFailureTest, MissingShardFailsEveryRank) {
  Built b = BuildBoth(FlatOptions{.dim = kDim}, "missing", 400);
  auto m = ReadManifest(b.dir);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(Comm().Barrier().ok());
  if (Comm().rank() == 0) {
    std::filesystem::remove(b.dir + "/" + m->shards.back().name);
  }
  ASSERT_TRUE(Comm().Barrier().ok());
  auto opened = ShardedSearcher::Open(Comm(), b.dir);
  ExpectSameErrorEverywhere(opened.status(), absl::StatusCode::kNotFound);
  if (Comm().rank() == 0) {
    EXPECT_EQ(LoadShardedIndex(b.dir).status().code(),
              absl::StatusCode::kNotFound);
  }
}

TEST(ShardedFailureTest, CorruptShardFailsEveryRank) {
  Built b = BuildBoth(FlatOptions{.dim = kDim}, "corrupt", 400);
  auto m = ReadManifest(b.dir);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(Comm().Barrier().ok());
  if (Comm().rank() == 0) {
    const std::string path = b.dir + "/" + m->shards.back().name;
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(m->shards.back().bytes / 2));
    char c = 0;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(m->shards.back().bytes / 2));
    c = static_cast<char>(c ^ 0x40);
    f.write(&c, 1);
  }
  ASSERT_TRUE(Comm().Barrier().ok());
  auto opened = ShardedSearcher::Open(Comm(), b.dir);
  ExpectSameErrorEverywhere(opened.status(), absl::StatusCode::kDataLoss);
}

TEST(ShardedFailureTest, CorruptManifestIsDataLossAndWrongRankCountRefused) {
  Built b = BuildBoth(FlatOptions{.dim = kDim}, "manifest", 400);
  auto m = ReadManifest(b.dir);
  ASSERT_TRUE(m.ok());
  std::string bytes = EncodeManifest(*m);
  for (size_t i = 0; i < bytes.size(); i += 7) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 1);
    EXPECT_EQ(DecodeManifest(bad).status().code(), absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
  EXPECT_EQ(DecodeManifest(bytes.substr(0, bytes.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
  // A manifest with one shard more than there are ranks.
  ShardManifest more = *m;
  more.shards.push_back(more.shards.back());
  more.id_begin.push_back(more.id_begin.back());
  more.total_vectors += more.shards.back().vectors;
  ASSERT_TRUE(Comm().Barrier().ok());
  absl::Status w;
  if (Comm().rank() == 0) w = WriteManifest(b.dir, more);
  ASSERT_TRUE(Comm().AgreeOnStatus(w).ok());
  auto opened = ShardedSearcher::Open(Comm(), b.dir);
  ExpectSameErrorEverywhere(opened.status(),
                            absl::StatusCode::kFailedPrecondition);
}

TEST(ShardedFailureTest, BadQueryFailsEveryRank) {
  Built b = BuildBoth(FlatOptions{.dim = kDim}, "badquery", 400);
  auto searcher = ShardedSearcher::Open(Comm(), b.dir);
  ASSERT_TRUE(searcher.ok());
  std::vector<float> q(kDim * 2, 0.5f);
  q[kDim + 1] = std::numeric_limits<float>::infinity();
  std::vector<int64_t> ids(2 * 3);
  std::vector<float> d(2 * 3);
  const bool root = Comm().rank() == 0;
  absl::Status st =
      searcher->Search(root ? MatrixView<const float>(q.data(), 2, kDim)
                            : MatrixView<const float>(),
                       {.params = {.k = 3}},
                       root ? SearchOutput{{ids.data(), 2, 3}, {d.data(), 2, 3}}
                            : SearchOutput{});
  ExpectSameErrorEverywhere(st, absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vindex::mpi

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  // Every rank must pass: a failure on any makes the job fail.
  int worst = rc;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
