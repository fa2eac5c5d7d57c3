#ifndef VINDEX_SRC_LINALG_GEMM_H_
#define VINDEX_SRC_LINALG_GEMM_H_

// The one GEMM wrapper: Eigen maps over raw row-major pointers, with OpenBLAS
// underneath (EIGEN_USE_BLAS). It serves Flat batch search, IVF coarse
// assignment, k-means and PQ tables.
//
// Threads: the wrapper runs on the calling thread. vindex parallelises over
// tiles with the caller's Executor, so on first use it sets OpenBLAS to one
// thread (openblas_set_num_threads(1)) unless the environment variable
// VINDEX_BLAS_THREADS is set, in which case BLAS keeps its own setting.

#include <cstdint>

namespace vindex::linalg {

// The thread setting above, applied once. Code that reaches BLAS through Eigen
// without this wrapper (double-precision training math) calls it first.
void PinBlasThreadsOnce();

// c[m x n] = alpha * a[m x k] * b[n x k]^T + beta * c. Row-major, leading
// dimensions in elements (lda, ldb >= k; ldc >= n).
void GemmABt(const float* a, int64_t m, int64_t lda, const float* b, int64_t n,
             int64_t ldb, int64_t k, float* c, int64_t ldc, float alpha = 1.0f,
             float beta = 0.0f);

// c[m x n] = alpha * a[m x k] * b[k x n] + beta * c. Row-major.
void GemmAB(const float* a, int64_t m, int64_t lda, const float* b, int64_t n,
            int64_t ldb, int64_t k, float* c, int64_t ldc, float alpha = 1.0f,
            float beta = 0.0f);

// out[i] = ||x_i||^2 for n rows of d floats with stride `stride`.
void RowSquaredNorms(const float* x, int64_t n, int64_t d, int64_t stride,
                     float* out);

}  // namespace vindex::linalg

#endif  // VINDEX_SRC_LINALG_GEMM_H_
