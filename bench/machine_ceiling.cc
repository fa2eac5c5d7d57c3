// Measures the machine's ceilings: streaming read bandwidth and SGEMM.

#include "machine_ceiling.h"

#include <cblas.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "vindex/executor.h"

namespace vindex::bench {

uint64_t SumWords(const uint64_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  for (; i < n; ++i) s0 += p[i];
  return s0 + s1 + s2 + s3;
}

double MeasureReadBandwidth(int threads, size_t bytes) {
  const size_t words = bytes / 8;
  std::vector<uint64_t> buf(words);
  for (size_t i = 0; i < words; ++i) buf[i] = i;
  volatile uint64_t sink = 0;
  double best = 0;
  for (int rep = 0; rep < 4; ++rep) {
    double t0 = WallSeconds();
    std::vector<std::thread> pool;
    std::vector<uint64_t> sums(threads);
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        size_t b = words * t / threads, e = words * (t + 1) / threads;
        sums[t] = SumWords(buf.data() + b, e - b);
      });
    }
    for (auto& th : pool) th.join();
    double dt = WallSeconds() - t0;
    for (uint64_t s : sums) sink = sink + s;
    best = std::max(best, bytes / dt / 1e9);
  }
  (void)sink;
  return best;
}

void SgemmABt(const float* a, int64_t m, const float* b, int64_t n, int64_t k,
              float* c) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0f, a,
              static_cast<int>(k), b, static_cast<int>(k), 0.0f, c,
              static_cast<int>(n));
}

void UseOneBlasThread() {
  if (std::getenv("VINDEX_BLAS_THREADS") == nullptr) SetBlasThreads(1);
}

double MeasureSgemm(int threads, int64_t m, int64_t n, int64_t k) {
  UseOneBlasThread();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> a(m * k), b(n * k), c(m * n);
  for (auto& x : a) x = u(rng);
  for (auto& x : b) x = u(rng);
  ThreadPool pool(threads);
  auto once = [&] {
    pool.ParallelFor(threads, [&](int64_t t) {
      int64_t r0 = m * t / threads, r1 = m * (t + 1) / threads;
      SgemmABt(a.data() + r0 * k, r1 - r0, b.data(), n, k, c.data() + r0 * n);
    });
  };
  once();
  double best = 0, total = 0;
  while (total < 0.3) {
    double t0 = WallSeconds();
    once();
    double dt = WallSeconds() - t0;
    total += dt;
    best = std::max(best, 2.0 * m * n * k / dt / 1e9);
  }
  return best;
}

Ceilings MeasureCeilings(int threads) {
  Ceilings c;
  c.membw_1t_gbs = MeasureReadBandwidth(1, size_t{512} << 20);
  c.membw_all_gbs = MeasureReadBandwidth(threads, size_t{512} << 20);
  c.sgemm_1t_gflops = MeasureSgemm(1, 1024, 1024, 128);
  c.sgemm_all_gflops = MeasureSgemm(threads, 1024, 1024, 128);
  return c;
}

}  // namespace vindex::bench
