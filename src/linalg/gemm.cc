#include "linalg/gemm.h"

#include <Eigen/Core>
#include <cstdlib>
#include <mutex>

#include "kernels/kernels.h"

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace vindex::linalg {
namespace {

using RowMajor =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
using MutMap = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;

}  // namespace

void PinBlasThreadsOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("VINDEX_BLAS_THREADS") == nullptr &&
        openblas_set_num_threads != nullptr) {
      openblas_set_num_threads(1);
    }
  });
}

void GemmABt(const float* a, int64_t m, int64_t lda, const float* b, int64_t n,
             int64_t ldb, int64_t k, float* c, int64_t ldc, float alpha,
             float beta) {
  if (m == 0 || n == 0) return;
  PinBlasThreadsOnce();
  ConstMap A(a, m, k, Eigen::OuterStride<>(lda));
  ConstMap B(b, n, k, Eigen::OuterStride<>(ldb));
  MutMap C(c, m, n, Eigen::OuterStride<>(ldc));
  if (beta == 0.0f) {
    C.noalias() = alpha * (A * B.transpose());
  } else {
    C *= beta;
    C.noalias() += alpha * (A * B.transpose());
  }
}

void GemmAB(const float* a, int64_t m, int64_t lda, const float* b, int64_t n,
            int64_t ldb, int64_t k, float* c, int64_t ldc, float alpha,
            float beta) {
  if (m == 0 || n == 0) return;
  PinBlasThreadsOnce();
  ConstMap A(a, m, k, Eigen::OuterStride<>(lda));
  ConstMap B(b, k, n, Eigen::OuterStride<>(ldb));
  MutMap C(c, m, n, Eigen::OuterStride<>(ldc));
  if (beta == 0.0f) {
    C.noalias() = alpha * (A * B);
  } else {
    C *= beta;
    C.noalias() += alpha * (A * B);
  }
}

void RowSquaredNorms(const float* x, int64_t n, int64_t d, int64_t stride,
                     float* out) {
  const kernels::KernelTable& kt = kernels::Active();
  for (int64_t i = 0; i < n; ++i) {
    const float* row = x + i * stride;
    out[i] = kt.inner_product(row, row, d);
  }
}

}  // namespace vindex::linalg
