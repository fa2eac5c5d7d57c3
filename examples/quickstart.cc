// quickstart: build an index, add vectors with your own ids, search, filter,
// save and load. Build: part of the default build (examples/quickstart).
// Every fallible call returns absl::Status (vindex throws no exceptions), and
// every one is checked: a failure prints its message and exits non-zero.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "vindex/vindex.h"

// Prints a failed call's status; true when the call succeeded.
bool Ok(const absl::Status& status, const char* what) {
  if (!status.ok())
    std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  return status.ok();
}

int main(int argc, char** argv) {
  const int dim = 64;
  const int64_t n = 20000;

  // 1. Some vectors (use your embeddings here) and the ids you know them by.
  std::mt19937 rng(42);
  std::normal_distribution<float> gauss;
  std::vector<float> vectors(n * dim);
  for (float& x : vectors) x = gauss(rng);
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = 1'000'000 + i;

  // 2. An index from a factory string ("Flat", "IVF1024,Flat", "HNSW32", ...).
  auto made = vindex::MakeIndex("Flat", dim, vindex::Metric::kL2);
  if (!Ok(made.status(), "MakeIndex")) return 1;
  std::unique_ptr<vindex::Index> index = std::move(*made);

  // 3. Train (a no-op for Flat) and add, in parallel on a thread pool.
  vindex::ThreadPool pool(0);  // One thread per core.
  vindex::MatrixView<const float> data(vectors.data(), n, dim);
  if (!Ok(index->Train(data, &pool), "Train")) return 1;
  if (!Ok(index->Add(data, ids, &pool), "Add")) return 1;

  // 4. Search: the query is vector #123, so its nearest neighbour is itself.
  const int k = 5;
  std::vector<int64_t> out_ids(k);
  std::vector<float> out_dist(k);
  vindex::MatrixView<const float> query(vectors.data() + 123 * dim, 1, dim);
  vindex::SearchOutput out{vindex::MatrixView<int64_t>(out_ids.data(), 1, k),
                           vindex::MatrixView<float>(out_dist.data(), 1, k)};
  if (!Ok(index->Search(query, vindex::SearchParams{.k = k}, out), "Search"))
    return 1;
  std::printf("nearest to id %lld:", static_cast<long long>(ids[123]));
  for (int j = 0; j < k; ++j) {
    std::printf(" %lld (%.2f)", static_cast<long long>(out_ids[j]),
                out_dist[j]);
  }
  std::printf("\n");
  if (out_ids[0] != ids[123]) return 2;

  // 5. Filtered search: only even ids may be returned.
  auto even =
      vindex::IdFilter::Predicate([](int64_t id) { return id % 2 == 0; });
  if (!Ok(index->Search(query, vindex::SearchParams{.k = k, .filter = &even},
                        out),
          "filtered Search")) {
    return 1;
  }
  for (int j = 0; j < k; ++j) {
    if (out_ids[j] % 2 != 0) return 3;
  }
  std::printf("filtered (even ids only): first %lld\n",
              static_cast<long long>(out_ids[0]));

  // 6. Save atomically, load back, and check the loaded index answers alike.
  const std::string path = argc > 1 ? argv[1] : "quickstart.vindex";
  if (!Ok(vindex::SaveIndexToFile(*index, path), "SaveIndexToFile")) return 1;
  auto loaded = vindex::LoadIndexFromFile(path);
  if (!Ok(loaded.status(), "LoadIndexFromFile")) return 1;
  std::vector<int64_t> again(k);
  vindex::SearchOutput out2{vindex::MatrixView<int64_t>(again.data(), 1, k),
                            vindex::MatrixView<float>(out_dist.data(), 1, k)};
  if (!Ok((*loaded)->Search(query, vindex::SearchParams{.k = k}, out2),
          "Search (loaded)")) {
    return 1;
  }
  if (again[0] != ids[123]) return 4;
  std::printf("saved %s (%lld vectors), loaded, same answer; kernels: %s\n",
              path.c_str(), static_cast<long long>((*loaded)->info().size),
              std::string(vindex::ActiveIsaName()).c_str());
  std::remove(path.c_str());
  return 0;
}
