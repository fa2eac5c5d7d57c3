// A synthetic dataset for ann_bench: clustered Gaussian vectors with exact
// ground truth.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_common.h"
#include "vindex/vindex.h"

namespace vindex::bench {

std::string MakeSyntheticDataset(const std::string& shape, Dataset* ds,
                                 Executor* pool) {
  long long n = 0, d = 0, nq = 0, clusters = 0;
  const int fields =
      std::sscanf(shape.c_str(), "%lld,%lld,%lld,%lld", &n, &d, &nq, &clusters);
  if (fields < 3 || n < 1 || d < 1 || nq < 1 || (fields == 4 && clusters < 1)) {
    return "--synthetic wants N,D,NQ[,CLUSTERS]";
  }
  ds->name = "synthetic-" + std::to_string(n) + "x" + std::to_string(d);
  if (fields == 4) ds->name += "-c" + std::to_string(clusters);
  ds->dim = static_cast<int>(d);
  ds->n = n;
  ds->nq = nq;
  std::mt19937_64 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Cluster centres (default about sqrt(n)) spread far wider than the unit
  // noise around them, so the clusters are well separated.
  const int64_t centres =
      fields == 4 ? clusters : std::max<int64_t>(1, std::llround(std::sqrt(n)));
  std::vector<float> c(centres * d);
  for (auto& x : c) x = 4.0f * normal(rng);
  std::uniform_int_distribution<int64_t> pick(0, centres - 1);
  auto fill = [&](std::vector<float>* v, int64_t rows) {
    v->resize(rows * d);
    for (int64_t i = 0; i < rows; ++i) {
      const float* ci = c.data() + pick(rng) * d;
      for (int64_t j = 0; j < d; ++j) (*v)[i * d + j] = ci[j] + normal(rng);
    }
  };
  fill(&ds->base, n);
  fill(&ds->queries, nq);
  ds->gt_k = static_cast<int>(std::min<int64_t>(100, n));
  auto flat = MakeIndex("Flat", ds->dim, Metric::kL2);
  if (!flat.ok()) return flat.status().ToString();
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  auto st =
      (*flat)->Add(MatrixView<const float>(ds->base.data(), n, d), ids, pool);
  if (!st.ok()) return st.ToString();
  std::vector<int64_t> out_ids(nq * ds->gt_k);
  std::vector<float> out_d(nq * ds->gt_k);
  SearchParams p;
  p.k = ds->gt_k;
  st =
      (*flat)->Search(MatrixView<const float>(ds->queries.data(), nq, d), p,
                      SearchOutput{MatrixView<int64_t>(out_ids.data(), nq, p.k),
                                   MatrixView<float>(out_d.data(), nq, p.k)},
                      pool);
  if (!st.ok()) return st.ToString();
  ds->gt.assign(out_ids.begin(), out_ids.end());
  return "";
}

}  // namespace vindex::bench
