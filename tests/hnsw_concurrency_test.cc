// HNSW under concurrent use: searches while a parallel Add and a Remove run.
// Meant to run under ThreadSanitizer as well (sizes kept small).
#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "index/hnsw/hnsw_index.h"
#include "test_util.h"

namespace vindex {
namespace {

using testing::BruteForce;
using testing::ClusteredVectors;
using testing::RecallAtK;
using testing::RunSearch;
using testing::SequentialIds;

constexpr int kDim = 16;

TEST(HnswConcurrencyTest, SearchWhileAddingAndRemoving) {
  for (auto t :
       {HnswOptions::Traversal::kFloat, HnswOptions::Traversal::kSq8}) {
    const int64_t initial = 400, batch = 200, batches = 5;
    const int64_t n = initial + batch * batches;
    auto base = ClusteredVectors(n, kDim, 10, 3);
    auto index = *HnswIndex::Create(HnswOptions{.dim = kDim,
                                                .m = 8,
                                                .ef_construction = 40,
                                                .default_ef = 40,
                                                .traversal = t});
    ASSERT_TRUE(index
                    ->Add(MatrixView<const float>(base.data(), initial, kDim),
                          SequentialIds(initial), nullptr)
                    .ok());
    // Ids [0, started) may appear; [0, finished) must be findable.
    std::atomic<int64_t> started{initial}, finished{initial};
    // Ids below `removed` that are multiples of 7 are gone once Remove
    // returned.
    std::atomic<bool> removed{false};
    std::atomic<bool> done{false};
    std::atomic<int64_t> searches{0}, expected{0}, hits{0};

    std::thread writer([&] {
      ThreadPool pool(2);
      for (int64_t b = 0; b < batches; ++b) {
        const int64_t first = initial + b * batch;
        started.store(first + batch);
        EXPECT_TRUE(index
                        ->Add(MatrixView<const float>(
                                  base.data() + first * kDim, batch, kDim),
                              SequentialIds(batch, first), &pool)
                        .ok());
        finished.store(first + batch);
        if (b == 2) {
          std::vector<int64_t> gone;
          for (int64_t i = 0; i < initial; i += 7) gone.push_back(i);
          EXPECT_TRUE(index->Remove(gone).ok());
          removed.store(true);
        }
      }
      done.store(true);
    });
    auto reader = [&](int seed) {
      int64_t i = seed;
      while (!done.load()) {
        const int64_t fin = finished.load();
        const bool gone = removed.load();
        // Query with a stored vector: it must be found once its Add returned.
        const int64_t target = (i * 37) % fin;
        ++i;
        std::vector<float> q(base.begin() + target * kDim,
                             base.begin() + (target + 1) * kDim);
        auto r = RunSearch(*index, q, kDim, SearchParams{.k = 5, .ef = 64});
        EXPECT_TRUE(r.status.ok());
        const int64_t st = started.load();
        bool found = false;
        for (int64_t id : r.ids) {
          EXPECT_LT(id, st);
          if (gone && id < initial) EXPECT_NE(id % 7, 0) << id;
          found |= id == target;
        }
        if (!(gone && target < initial && target % 7 == 0)) {
          expected.fetch_add(1);
          hits.fetch_add(found ? 1 : 0);
        }
        searches.fetch_add(1);
      }
    };
    std::thread r1(reader, 1), r2(reader, 2);
    writer.join();
    r1.join();
    r2.join();
    EXPECT_GT(searches.load(), 0);
    // A stored vector whose Add has returned is its own nearest neighbour;
    // the graph search finds it in most probes (it is approximate). Floor
    // 0.9: with M=8, ef_construction 40, inserts racing the probes and 1/7
    // of the first nodes removed midway, 5 of 40 Release runs fell below
    // 0.95 (to 0.93-0.947) when this floor was set; with 3 busy loops beside
    // it, 2f70cd9 averaged 0.978-0.980 over 50 runs (100 float and SQ8 rates,
    // lowest 0.789). Since Remove plans its repairs on the unchanged graph
    // (90b3ce8) the same load gave 0.996-0.999 (200 rates, lowest 0.968).
    EXPECT_GE(hits.load(), 0.9 * expected.load())
        << hits.load() << " / " << expected.load();
    EXPECT_TRUE(index->CheckGraphForTesting().ok())
        << index->CheckGraphForTesting();
    EXPECT_EQ(index->UnreachableSlotsForTesting().size(), 0);
    // Final recall against brute force over the surviving ids: floor 0.9
    // (small M and ef_construction to keep the test fast under sanitizers).
    std::vector<int64_t> ids = SequentialIds(n);
    auto alive = [&](int64_t id) { return !(id < initial && id % 7 == 0); };
    auto queries = ClusteredVectors(50, kDim, 10, 4);
    auto truth = BruteForce(base, ids, queries, kDim, 10, Metric::kL2, alive);
    auto got =
        RunSearch(*index, queries, kDim, SearchParams{.k = 10, .ef = 64});
    EXPECT_GE(RecallAtK(truth.ids, 10, got.ids, 10, 10), 0.9);
    EXPECT_EQ(index->info().size, n - (initial + 6) / 7);
  }
}

}  // namespace
}  // namespace vindex
