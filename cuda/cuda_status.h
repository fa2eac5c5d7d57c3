#ifndef VINDEX_CUDA_CUDA_STATUS_H_
#define VINDEX_CUDA_CUDA_STATUS_H_

// Turns CUDA runtime and cuBLAS return codes into absl::Status. Out of
// device memory is ResourceExhausted; every other failure is Internal naming
// the call, the error and the source line. Nothing here aborts.

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "absl/status/status.h"

namespace vindex::cuda {

absl::Status CudaToStatus(cudaError_t err, const char* expr, const char* file,
                          int line);
absl::Status CublasToStatus(cublasStatus_t err, const char* expr,
                            const char* file, int line);

}  // namespace vindex::cuda

// Returns from the enclosing function when a CUDA runtime call fails.
#define VINDEX_CUDA_RETURN_IF_ERROR(expr)                                    \
  do {                                                                       \
    cudaError_t vindex_cuda_err_ = (expr);                                   \
    if (vindex_cuda_err_ != cudaSuccess) {                                   \
      return ::vindex::cuda::CudaToStatus(vindex_cuda_err_, #expr, __FILE__, \
                                          __LINE__);                         \
    }                                                                        \
  } while (0)

// Returns from the enclosing function when a cuBLAS call fails.
#define VINDEX_CUBLAS_RETURN_IF_ERROR(expr)                            \
  do {                                                                 \
    cublasStatus_t vindex_cublas_err_ = (expr);                        \
    if (vindex_cublas_err_ != CUBLAS_STATUS_SUCCESS) {                 \
      return ::vindex::cuda::CublasToStatus(vindex_cublas_err_, #expr, \
                                            __FILE__, __LINE__);       \
    }                                                                  \
  } while (0)

#endif  // VINDEX_CUDA_CUDA_STATUS_H_
