#ifndef VINDEX_BENCH_MACHINE_CEILING_H_
#define VINDEX_BENCH_MACHINE_CEILING_H_

// The machine's ceilings that the benches compare vindex against: memory read
// bandwidth (a plain streaming read) and SGEMM throughput (OpenBLAS called
// directly, one BLAS thread per task as vindex runs it).

#include <cstddef>
#include <cstdint>

namespace vindex::bench {

// The sum of n words: a streaming read whose loads are the limit (integer
// adds vectorise at the baseline ISA).
uint64_t SumWords(const uint64_t* p, size_t n);

// Best GB/s of `threads` threads each summing its share of a `bytes` buffer.
double MeasureReadBandwidth(int threads, size_t bytes);

// c[m x n] = a[m x k] * b[n x k]^T, row-major and dense, through OpenBLAS's
// cblas_sgemm on the calling thread (call UseOneBlasThread() first).
void SgemmABt(const float* a, int64_t m, const float* b, int64_t n, int64_t k,
              float* c);

// Sets OpenBLAS to one thread per call, as vindex runs it, unless
// VINDEX_BLAS_THREADS is set (then BLAS keeps its own setting, as in vindex).
void UseOneBlasThread();

// Best GFLOP/s of c[m x n] = a[m x k] b[n x k]^T with the rows of a split
// across `threads` threads (as vindex's batch paths do), over about 0.3 s.
double MeasureSgemm(int threads, int64_t m, int64_t n, int64_t k);

// The ceilings ann_bench prints and divides by: read bandwidth over a 512 MiB
// buffer and SGEMM 1024x1024x128, on one thread and on `threads`.
struct Ceilings {
  double membw_1t_gbs = 0;
  double membw_all_gbs = 0;
  double sgemm_1t_gflops = 0;
  double sgemm_all_gflops = 0;
};
Ceilings MeasureCeilings(int threads);

}  // namespace vindex::bench

#endif  // VINDEX_BENCH_MACHINE_CEILING_H_
