// Measures HNSW build time and recall for several ef_construction values
// (the CLI's factory strings cannot set it). Used for docs/parameters.md.
// Usage: hnsw_ef_construction BASE.fvecs QUERY.fvecs N_BASE N_QUERIES
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "vindex/vector_files.h"
#include "vindex/vindex.h"

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  auto base = vindex::ReadFvecs(argv[1]);
  auto queries = vindex::ReadFvecs(argv[2]);
  if (!base.ok() || !queries.ok()) return 1;
  const int64_t n = std::atoll(argv[3]), nq = std::atoll(argv[4]);
  const int dim = static_cast<int>(base->cols), k = 10;
  vindex::MatrixView<const float> data(base->data.data(), n, dim);
  vindex::MatrixView<const float> q(queries->data.data(), nq, dim);
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  vindex::ThreadPool pool(2);
  auto search = [&](const vindex::Index& index, int ef) {
    std::vector<int64_t> out(nq * k);
    std::vector<float> dist(nq * k);
    vindex::SearchOutput o{vindex::MatrixView<int64_t>(out.data(), nq, k),
                           vindex::MatrixView<float>(dist.data(), nq, k)};
    if (!index.Search(q, {.k = k, .ef = ef}, o, &pool).ok()) std::exit(1);
    return out;
  };
  auto flat = vindex::MakeIndex("Flat", dim);
  if (!flat.ok() || !(*flat)->Add(data, ids, &pool).ok()) return 1;
  const std::vector<int64_t> truth = search(**flat, 0);
  std::printf("M,ef_construction,build_s,ef,recall@10\n");
  for (int efc : {50, 100, 200, 400}) {
    auto index = vindex::MakeIndex(
        vindex::HnswOptions{.dim = dim, .m = 32, .ef_construction = efc});
    if (!index.ok()) return 1;
    const auto start = std::chrono::steady_clock::now();
    if (!(*index)->Add(data, ids, &pool).ok()) return 1;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    for (int ef : {16, 32, 64, 128}) {
      const std::vector<int64_t> got = search(**index, ef);
      int64_t hits = 0;
      for (int64_t i = 0; i < nq; ++i)
        for (int a = 0; a < k; ++a)
          for (int b = 0; b < k; ++b)
            hits += got[i * k + a] == truth[i * k + b];
      std::printf("32,%d,%.1f,%d,%.4f\n", efc, s, ef,
                  static_cast<double>(hits) / (nq * k));
      std::fflush(stdout);
    }
  }
  return 0;
}
