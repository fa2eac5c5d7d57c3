#include "cuda_status.h"

#include "absl/strings/str_cat.h"

namespace vindex::cuda {

absl::Status CudaToStatus(cudaError_t err, const char* expr, const char* file,
                          int line) {
  if (err == cudaSuccess) return absl::OkStatus();
  const std::string what =
      absl::StrCat(expr, " failed: ", cudaGetErrorName(err), " (",
                   cudaGetErrorString(err), ") at ", file, ":", line);
  if (err == cudaErrorMemoryAllocation) {
    return absl::ResourceExhaustedError(what);
  }
  if (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver ||
      err == cudaErrorInvalidDevice) {
    return absl::FailedPreconditionError(what);
  }
  return absl::InternalError(what);
}

absl::Status CublasToStatus(cublasStatus_t err, const char* expr,
                            const char* file, int line) {
  if (err == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  const std::string what =
      absl::StrCat(expr, " failed: cuBLAS ", cublasGetStatusName(err), " (",
                   cublasGetStatusString(err), ") at ", file, ":", line);
  if (err == CUBLAS_STATUS_ALLOC_FAILED) {
    return absl::ResourceExhaustedError(what);
  }
  return absl::InternalError(what);
}

}  // namespace vindex::cuda
