// Batch search throughput of a saved index: loads INDEX, searches all of
// QUERIES as one batch REPS times (k = 10, the given nprobe and re-rank
// factor, THREADS threads, default 2) and prints recall@10 against GT and
// the median, lowest and highest QPS. Used for the IVF-PQ kernel and top-k
// changes of 2026-11-29 (build the index with `vindex build`).
// Usage: batch_qps INDEX QUERIES.fvecs GT.ivecs NPROBE RERANK REPS [THREADS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include "vindex/vector_files.h"
#include "vindex/vindex.h"

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr,
                 "usage: batch_qps INDEX QUERIES GT NPROBE RERANK REPS "
                 "[THREADS]\n");
    return 2;
  }
  auto reader = vindex::FileReader::Open(argv[1]);
  if (!reader.ok()) {
    std::fprintf(stderr, "%s\n", reader.status().ToString().c_str());
    return 1;
  }
  auto index = vindex::LoadIndex(**reader);
  auto queries = vindex::ReadFvecs(argv[2]);
  auto gt = vindex::ReadIvecs(argv[3]);
  if (!index.ok() || !queries.ok() || !gt.ok()) {
    std::fprintf(stderr, "cannot read the index, queries or ground truth\n");
    return 1;
  }
  const int nprobe = std::atoi(argv[4]), rerank = std::atoi(argv[5]);
  const int reps = std::max(1, std::atoi(argv[6]));
  const int threads = argc > 7 ? std::atoi(argv[7]) : 2;
  const int64_t nq = queries->rows;
  constexpr int k = 10;
  std::vector<int64_t> ids(nq * k);
  std::vector<float> dist(nq * k);
  vindex::ThreadPool pool(threads);
  vindex::SearchParams params;
  params.k = k;
  params.nprobe = nprobe;
  params.rerank_factor = rerank;
  std::vector<double> qps;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const absl::Status s = (*index)->Search(
        queries->view(), params,
        vindex::SearchOutput{vindex::MatrixView<int64_t>(ids.data(), nq, k),
                             vindex::MatrixView<float>(dist.data(), nq, k)},
        &pool);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    qps.push_back(nq / std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - t0)
                           .count());
  }
  int64_t hits = 0;
  for (int64_t i = 0; i < nq; ++i) {
    const int32_t* row = gt->row(i);
    const std::set<int64_t> truth(row, row + k);
    for (int j = 0; j < k; ++j) hits += truth.count(ids[i * k + j]);
  }
  std::sort(qps.begin(), qps.end());
  std::printf(
      "nprobe %d rerank %d R@10 %.4f QPS median %.0f (min %.0f max %.0f, %d "
      "reps, %d threads)\n",
      nprobe, rerank, static_cast<double>(hits) / (nq * k), qps[qps.size() / 2],
      qps.front(), qps.back(), reps, threads);
  return 0;
}
