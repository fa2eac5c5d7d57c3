// filtered_search: restrict a search to the ids a caller may see. Each
// vector has an id and an attribute (here a category, as a catalogue or a
// tenant would be); the three kinds of IdFilter turn that attribute into a
// search restriction. Build: part of the default build
// (examples/filtered_search).
//
// A filter never changes which vectors are stored, only which may be
// returned: the index still finds the k closest *allowed* vectors (fewer,
// padded with id -1, when fewer than k are allowed).
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "vindex/vindex.h"

namespace {

constexpr int kDim = 32;
constexpr int64_t kNumVectors = 20000;
constexpr int kNumCategories = 10;
constexpr int kK = 5;

// The category of the vector with this id. Ids are 0..n-1 here so the
// category array can be indexed by id; with sparse ids use a hash map.
std::vector<int> categories;

// Runs one filtered search and checks that every id returned is allowed.
// Returns false (after printing why) on error or on a disallowed id.
bool SearchAndCheck(const vindex::Index& index, const float* query,
                    const vindex::IdFilter& filter, const char* label) {
  std::vector<int64_t> ids(kK);
  std::vector<float> distances(kK);
  vindex::SearchOutput out{vindex::MatrixView<int64_t>(ids.data(), 1, kK),
                           vindex::MatrixView<float>(distances.data(), 1, kK)};
  vindex::SearchParams params{.k = kK, .filter = &filter};
  if (absl::Status s = index.Search(
          vindex::MatrixView<const float>(query, 1, kDim), params, out);
      !s.ok()) {
    std::fprintf(stderr, "%s: Search: %s\n", label, s.ToString().c_str());
    return false;
  }
  std::printf("%-28s", label);
  for (int j = 0; j < kK; ++j) {
    if (ids[j] == -1) {  // Fewer than k allowed vectors: padding.
      std::printf(" (none)");
      continue;
    }
    std::printf(" %lld[cat %d]", static_cast<long long>(ids[j]),
                categories[ids[j]]);
    if (!filter.Allows(ids[j])) {
      std::fprintf(stderr, "\n%s: id %lld is not allowed\n", label,
                   static_cast<long long>(ids[j]));
      return false;
    }
  }
  std::printf("\n");
  return true;
}

}  // namespace

int main() {
  // 1. Vectors, ids 0..n-1 and one category per id.
  std::mt19937 rng(7);
  std::normal_distribution<float> gauss;
  std::uniform_int_distribution<int> pick_category(0, kNumCategories - 1);
  std::vector<float> vectors(kNumVectors * kDim);
  for (float& x : vectors) x = gauss(rng);
  std::vector<int64_t> ids(kNumVectors);
  categories.resize(kNumVectors);
  for (int64_t i = 0; i < kNumVectors; ++i) {
    ids[i] = i;
    categories[i] = pick_category(rng);
  }

  // 2. Any family honours filters (capabilities().filter); HNSW is used here
  // because a filter on a graph is the case that needs care: vindex keeps
  // walking through disallowed nodes, so a selective filter still finds k.
  auto made = vindex::MakeIndex("HNSW16", kDim, vindex::Metric::kL2);
  if (!made.ok()) {
    std::fprintf(stderr, "MakeIndex: %s\n", made.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<vindex::Index> index = std::move(*made);
  vindex::ThreadPool pool(0);
  vindex::MatrixView<const float> data(vectors.data(), kNumVectors, kDim);
  if (absl::Status s = index->Add(data, ids, &pool); !s.ok()) {
    std::fprintf(stderr, "Add: %s\n", s.ToString().c_str());
    return 1;
  }
  const float* query = vectors.data() + 42 * kDim;  // Vector #42 as query.

  // 3. Allow-list: the ids of one category, collected once. Good when the
  // allowed set is small or already known (a user's documents).
  std::vector<int64_t> in_category_3;
  for (int64_t id : ids) {
    if (categories[id] == 3) in_category_3.push_back(id);
  }
  const auto allow = vindex::IdFilter::AllowList(in_category_3);

  // 4. Range: ids in [5000, 6000). Cheapest of all; useful when ids encode
  // something ordered (time, shard, tenant block).
  const auto range = vindex::IdFilter::Range(5000, 6000);

  // 5. Predicate: any test on the id, here "category is 1 or 7". It is
  // called once per stored vector per search, from several threads when the
  // search runs on a pool, so keep it cheap and read-only.
  const auto predicate = vindex::IdFilter::Predicate(
      [](int64_t id) { return categories[id] == 1 || categories[id] == 7; });

  // 6. Deny-list: everything except the query itself (e.g. "more like this",
  // without returning the item being viewed).
  const int64_t self[] = {42};
  const auto deny = vindex::IdFilter::DenyList(self);

  const bool ok =
      SearchAndCheck(*index, query, allow, "allow-list (category 3):") &&
      SearchAndCheck(*index, query, range, "range [5000, 6000):") &&
      SearchAndCheck(*index, query, predicate, "predicate (category 1|7):") &&
      SearchAndCheck(*index, query, deny, "deny-list (not 42):");
  if (!ok) return 2;
  std::printf("all results respected their filters\n");
  return 0;
}
