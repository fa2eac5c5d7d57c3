// mmap_load: save an index once, then start services from it quickly by
// memory-mapping the file instead of copying it into memory. Build: part of
// the default build (examples/mmap_load).
//
// Usage: mmap_load [PATH] [NUM_VECTORS]
//
// With LoadOptions{.memory_map = true} the large sections (Flat vectors, IVF
// lists) are served straight from the file mapping: no copy, and several
// processes loading the same file share one copy in the page cache. The
// checksums are still verified, which reads the file once, so the gain is the
// allocation and copy, not the read. An index loaded this way is searched
// exactly like one loaded by copy.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "vindex/vindex.h"

namespace {

constexpr int kDim = 64;
constexpr int kNumQueries = 20;
constexpr int kK = 10;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// Loads `path` (copy or mmap), printing how long it took and what info()
// reports. Returns null (after printing why) on error.
std::unique_ptr<vindex::Index> TimedLoad(const std::string& path,
                                         bool memory_map) {
  const auto start = std::chrono::steady_clock::now();
  auto loaded = vindex::LoadIndexFromFile(
      path, vindex::LoadOptions{.memory_map = memory_map});
  const double seconds = SecondsSince(start);
  if (!loaded.ok()) {
    std::fprintf(stderr, "LoadIndexFromFile: %s\n",
                 loaded.status().ToString().c_str());
    return nullptr;
  }
  const vindex::IndexInfo info = (*loaded)->info();
  std::printf("%-5s load: %8.2f ms  memory_mapped=%-5s memory_bytes=%llu\n",
              memory_map ? "mmap" : "copy", seconds * 1e3,
              info.memory_mapped ? "true" : "false",
              static_cast<unsigned long long>(info.memory_bytes));
  return std::move(*loaded);
}

// Searches `queries` and returns the ids (kNumQueries x kK), or an empty
// vector on error.
std::vector<int64_t> SearchIds(const vindex::Index& index,
                               const std::vector<float>& queries) {
  std::vector<int64_t> ids(kNumQueries * kK);
  std::vector<float> distances(kNumQueries * kK);
  vindex::SearchOutput out{
      vindex::MatrixView<int64_t>(ids.data(), kNumQueries, kK),
      vindex::MatrixView<float>(distances.data(), kNumQueries, kK)};
  absl::Status s = index.Search(
      vindex::MatrixView<const float>(queries.data(), kNumQueries, kDim),
      vindex::SearchParams{.k = kK}, out);
  if (!s.ok()) {
    std::fprintf(stderr, "Search: %s\n", s.ToString().c_str());
    return {};
  }
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "mmap_load.vindex";
  const int64_t n = argc > 2 ? std::atoll(argv[2]) : 100000;

  // 1. Build a Flat index (its vectors are the section that gets mapped).
  std::mt19937 rng(3);
  std::normal_distribution<float> gauss;
  std::vector<float> vectors(n * kDim);
  for (float& x : vectors) x = gauss(rng);
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  auto made = vindex::MakeIndex("Flat", kDim, vindex::Metric::kL2);
  if (!made.ok()) {
    std::fprintf(stderr, "MakeIndex: %s\n", made.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<vindex::Index> index = std::move(*made);
  if (absl::Status s = index->Add(
          vindex::MatrixView<const float>(vectors.data(), n, kDim), ids);
      !s.ok()) {
    std::fprintf(stderr, "Add: %s\n", s.ToString().c_str());
    return 1;
  }

  // 2. Save atomically (temporary file + fsync + rename).
  if (absl::Status s = vindex::SaveIndexToFile(*index, path); !s.ok()) {
    std::fprintf(stderr, "SaveIndexToFile: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("saved %lld x %d vectors to %s\n", static_cast<long long>(n),
              kDim, path.c_str());
  std::vector<float> queries(vectors.begin(),
                             vectors.begin() + kNumQueries * kDim);
  const std::vector<int64_t> expected = SearchIds(*index, queries);
  index.reset();  // Free the built index before loading.

  // 3. Load twice: by copy, then by mapping. The file is in the page cache
  // for both (it was just written), so this compares allocation + copy with
  // mapping, not disk speed.
  std::unique_ptr<vindex::Index> copied = TimedLoad(path, /*memory_map=*/false);
  std::unique_ptr<vindex::Index> mapped = TimedLoad(path, /*memory_map=*/true);
  if (copied == nullptr || mapped == nullptr) return 1;
  if (!mapped->info().memory_mapped) {
    std::fprintf(stderr, "expected info().memory_mapped on the mapped index\n");
    return 2;
  }

  // 4. Both answer exactly as the index that was saved.
  const std::vector<int64_t> from_copy = SearchIds(*copied, queries);
  const std::vector<int64_t> from_mmap = SearchIds(*mapped, queries);
  if (expected.empty() || from_copy != expected || from_mmap != expected) {
    std::fprintf(stderr, "loaded indexes answered differently\n");
    return 3;
  }
  std::printf("copy and mmap loads return identical results for %d queries\n",
              kNumQueries);

  // The mapping lives as long as the index; the file may be removed (or
  // replaced by SaveIndexToFile's rename) while it is mapped.
  mapped.reset();
  std::remove(path.c_str());
  return 0;
}
