// flat_ceiling_bench: Flat search as a fraction of the machine's ceilings,
// timed in thread CPU time so that a shared, busy machine skews it little.
//   batch: Flat batch search (GEMM path) GFLOP/s vs bare SGEMM GFLOP/s
//          (OpenBLAS, which vindex's GEMM runs on), one thread;
//   scan:  one query at a time, GB/s of base vectors vs a plain streaming
//          read of the same buffer, one thread.
// usage: flat_ceiling_bench [BASE.fvecs [QUERIES.fvecs]]  (random data if none)
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "machine_ceiling.h"
#include "vindex/index.h"
#include "vindex/vector_files.h"

namespace {

double CpuNow() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

// Best of `reps` CPU-time runs of fn.
template <typename Fn>
double BestSeconds(int reps, Fn fn) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t = CpuNow();
    fn();
    best = std::min(best, CpuNow() - t);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<float> base, queries;
  int d = 128;
  int64_t n = 260000, nq = 1000;
  if (argc > 1) {
    auto b = vindex::ReadFloatVectors(argv[1]);
    if (!b.ok()) {
      std::fprintf(stderr, "%s\n", b.status().ToString().c_str());
      return 1;
    }
    d = static_cast<int>(b->cols);
    n = b->rows;
    base = std::move(b->data);
    if (argc > 2) {
      auto q = vindex::ReadFloatVectors(argv[2], {.max_rows = nq});
      if (!q.ok() || q->cols != d) {
        std::fprintf(stderr, "bad queries file\n");
        return 1;
      }
      nq = q->rows;
      queries = std::move(q->data);
    }
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0, 1);
  if (base.empty()) {
    base.resize(n * d);
    for (float& x : base) x = u(rng);
  }
  if (queries.empty()) {
    queries.resize(nq * d);
    for (float& x : queries) x = u(rng);
  }
  std::printf(
      "flat_ceiling_bench: n=%lld d=%d queries=%lld, 1 thread, CPU time, isa "
      "%s\n",
      static_cast<long long>(n), d, static_cast<long long>(nq),
      std::string(vindex::ActiveIsaName()).c_str());

  // Ceilings.
  vindex::bench::UseOneBlasThread();
  std::vector<float> c(1000 * 1024);
  const int64_t rows_for_gemm = std::min<int64_t>(n, 65536) / 1024 * 1024;
  const double sgemm_s = BestSeconds(5, [&] {
    for (int64_t b = 0; b < rows_for_gemm; b += 1024) {
      vindex::bench::SgemmABt(queries.data(), nq, base.data() + b * d, 1024, d,
                              c.data());
    }
  });
  const double sgemm_gflops = 2.0 * nq * rows_for_gemm * d / sgemm_s / 1e9;
  // The streaming read goes over a copy of the base vectors' bytes.
  std::vector<uint64_t> words(base.size() * sizeof(float) / sizeof(uint64_t));
  std::memcpy(words.data(), base.data(), words.size() * sizeof(uint64_t));
  volatile uint64_t sink = 0;
  const double read_s = BestSeconds(5, [&] {
    sink = sink + vindex::bench::SumWords(words.data(), words.size());
  });
  const double read_gbs = words.size() * 8.0 / read_s / 1e9;
  std::printf(
      "ceilings: SGEMM %lldx1024x%d %.1f GFLOP/s; streaming read %.1f GB/s\n",
      static_cast<long long>(nq), d, sgemm_gflops, read_gbs);

  auto index = vindex::MakeIndex("Flat", d).value();
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  if (!index->Add(vindex::MatrixView<const float>(base.data(), n, d), ids).ok())
    return 1;
  std::vector<int64_t> out_ids(nq * 10);
  std::vector<float> out_dist(nq * 10);
  auto search = [&](int64_t q0, int64_t rows) {
    auto s = index->Search(
        vindex::MatrixView<const float>(queries.data() + q0 * d, rows, d),
        {.k = 10},
        {vindex::MatrixView<int64_t>(out_ids.data(), rows, 10),
         vindex::MatrixView<float>(out_dist.data(), rows, 10)});
    if (!s.ok()) std::abort();
  };
  const double batch_s = BestSeconds(3, [&] { search(0, nq); });
  const double batch_gflops = 2.0 * nq * n * d / batch_s / 1e9;
  std::printf("batch: %.0f QPS per core, %.1f GFLOP/s = %.0f%% of SGEMM\n",
              nq / batch_s, batch_gflops, 100.0 * batch_gflops / sgemm_gflops);
  const int64_t scan_queries = std::min<int64_t>(nq, 20);
  const double scan_s = BestSeconds(3, [&] {
    for (int64_t q = 0; q < scan_queries; ++q) search(q, 1);
  });
  const double scan_gbs = scan_queries * n * d * 4.0 / scan_s / 1e9;
  std::printf("scan: %.1f QPS per core, %.1f GB/s = %.0f%% of streaming read\n",
              scan_queries / scan_s, scan_gbs, 100.0 * scan_gbs / read_gbs);
  return 0;
}
