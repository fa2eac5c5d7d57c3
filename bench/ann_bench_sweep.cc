// Measures ann_bench's sweep points: batch and one-query-per-call timing,
// recall against the dataset's ground truth.

#include "ann_bench_sweep.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace vindex::bench {
namespace {

void Recall(const Dataset& ds, int64_t nq, int k,
            const std::vector<int64_t>& ids, double* r1, double* r10) {
  const int kk = std::min({k, 10, ds.gt_k});
  int64_t hit1 = 0, hit10 = 0;
  for (int64_t q = 0; q < nq; ++q) {
    const int32_t* g = ds.gt.data() + q * ds.gt_k;
    const int64_t* r = ids.data() + q * k;
    if (r[0] == g[0]) ++hit1;
    for (int i = 0; i < kk; ++i) {
      for (int j = 0; j < kk; ++j) {
        if (r[i] == g[j]) {
          ++hit10;
          break;
        }
      }
    }
  }
  *r1 = static_cast<double>(hit1) / nq;
  *r10 = static_cast<double>(hit10) / (static_cast<double>(nq) * kk);
}

}  // namespace

std::string Measure(Contender& c, const Dataset& ds, const Options& o,
                    int64_t nq, const Knobs& knobs, Point* pt) {
  const int k = o.k;
  std::vector<int64_t> ids(static_cast<size_t>(nq) * k);
  // Batch: all queries in one call on all threads; best of calls totalling
  // >= batch_min_s. The first call also gives the recall.
  c.UseThreads(o.threads);
  double best = 1e300, total = 0, best_cpu = 0;
  int calls = 0;
  while (calls == 0 || total < o.batch_min_s) {
    double c0 = ProcessCpuSeconds(), t0 = WallSeconds();
    std::string err = c.Search(ds.queries.data(), nq, k, knobs, ids.data());
    double dt = WallSeconds() - t0, dc = ProcessCpuSeconds() - c0;
    if (!err.empty()) return err;
    if (calls == 0) Recall(ds, nq, k, ids, &pt->recall1, &pt->recall10);
    if (dt < best) {
      best = dt;
      best_cpu = dc / (dt * o.threads);
    }
    total += dt;
    ++calls;
  }
  pt->qps_batch = nq / best;
  pt->cpu_batch = best_cpu;
  // 1T: one query per call, sequentially, for up to budget_1t seconds.
  c.UseThreads(1);
  {
    std::vector<int64_t> one(k);
    c.Search(ds.queries.data(), 1, k, knobs, one.data());  // Warm-up.
    double c0 = ProcessCpuSeconds(), t0 = WallSeconds(), dt = 0;
    int64_t done = 0;
    while (done < nq) {
      std::string err =
          c.Search(ds.queries.data() + done * ds.dim, 1, k, knobs, one.data());
      if (!err.empty()) return err;
      ++done;
      dt = WallSeconds() - t0;
      if (dt >= o.budget_1t) break;
    }
    pt->qps_1t = done / dt;
    pt->cpu_1t = (ProcessCpuSeconds() - c0) / dt;
    pt->queries_1t = done;
  }
  return "";
}

std::vector<Knobs> SweepPoints(const SpecInfo& s, const Options& o) {
  std::vector<Knobs> pts;
  using F = SpecInfo::Family;
  if (s.family == F::kIvfFlat || s.family == F::kIvfPq) {
    std::vector<int> reranks = s.rerank ? o.rerank : std::vector<int>{0};
    for (int r : reranks) {
      for (int np : o.nprobe) {
        if (np < 1 || np > s.nlist) continue;
        pts.push_back(Knobs{.nprobe = np, .rerank = r});
      }
    }
  } else if (s.family == F::kHnsw) {
    for (int ef : o.ef) pts.push_back(Knobs{.ef = ef});
  } else {
    pts.push_back(Knobs{});
  }
  return pts;
}

}  // namespace vindex::bench
