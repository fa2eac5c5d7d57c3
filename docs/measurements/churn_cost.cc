// Measures what updates cost per family: adding n vectors, removing 10% of
// them (random ids, one call) and adding them back, plus recall@10 before
// and after that churn. Used for docs/choosing_an_index.md.
// Usage: churn_cost BASE.fvecs QUERY.fvecs N_BASE N_QUERIES
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "vindex/vector_files.h"
#include "vindex/vindex.h"

namespace {
double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}
}  // namespace

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
  // 10% of the ids, at random, and their vectors.
  std::vector<int64_t> churn(ids);
  std::shuffle(churn.begin(), churn.end(), std::mt19937(1));
  churn.resize(n / 10);
  std::vector<float> churn_vectors(churn.size() * dim);
  for (size_t i = 0; i < churn.size(); ++i) {
    std::copy_n(base->data.data() + churn[i] * dim, dim,
                churn_vectors.data() + i * dim);
  }
  vindex::MatrixView<const float> churn_view(churn_vectors.data(), churn.size(),
                                             dim);
  vindex::ThreadPool pool(2);
  auto search = [&](const vindex::Index& index) {
    std::vector<int64_t> out(nq * k);
    std::vector<float> dist(nq * k);
    vindex::SearchOutput o{vindex::MatrixView<int64_t>(out.data(), nq, k),
                           vindex::MatrixView<float>(dist.data(), nq, k)};
    if (!index
             .Search(q, {.k = k, .nprobe = 32, .ef = 64, .rerank_factor = 8}, o,
                     &pool)
             .ok()) {
      std::exit(1);
    }
    return out;
  };
  auto recall = [&](const std::vector<int64_t>& got,
                    const std::vector<int64_t>& truth) {
    int64_t hits = 0;
    for (int64_t i = 0; i < nq; ++i)
      for (int a = 0; a < k; ++a)
        for (int b = 0; b < k; ++b) hits += got[i * k + a] == truth[i * k + b];
    return static_cast<double>(hits) / (nq * k);
  };
  auto flat = vindex::MakeIndex("Flat", dim);
  if (!flat.ok() || !(*flat)->Add(data, ids, &pool).ok()) return 1;
  const std::vector<int64_t> truth = search(**flat);
  std::printf(
      "\"spec\",train_s,add_s,remove_10pct_s,readd_10pct_s,recall_before,"
      "recall_after\n");
  for (const char* spec :
       {"Flat", "IVF1024,Flat", "IVF1024,PQ32x4fs,Rerank", "HNSW32"}) {
    auto made = vindex::MakeIndex(spec, dim);
    if (!made.ok()) return 1;
    vindex::Index& index = **made;
    auto t = std::chrono::steady_clock::now();
    if (!index.Train(data, &pool).ok()) return 1;
    const double train_s = Since(t);
    t = std::chrono::steady_clock::now();
    if (!index.Add(data, ids, &pool).ok()) return 1;
    const double add_s = Since(t);
    const double before = recall(search(index), truth);
    t = std::chrono::steady_clock::now();
    if (absl::Status s = index.Remove(churn); !s.ok()) {
      std::fprintf(stderr, "%s Remove: %s\n", spec, s.ToString().c_str());
      return 1;
    }
    const double remove_s = Since(t);
    t = std::chrono::steady_clock::now();
    if (!index.Add(churn_view, churn, &pool).ok()) return 1;
    const double readd_s = Since(t);
    const double after = recall(search(index), truth);
    std::printf("\"%s\",%.2f,%.2f,%.3f,%.2f,%.4f,%.4f\n", spec, train_s, add_s,
                remove_s, readd_s, before, after);
    std::fflush(stdout);
  }
  return 0;
}
