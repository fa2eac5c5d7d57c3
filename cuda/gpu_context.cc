#include "gpu_context.h"

#include <cstdlib>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cuda_status.h"

namespace vindex::cuda {

int DeviceCount() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

absl::StatusOr<std::unique_ptr<GpuContext>> GpuContext::Create(
    int device, uint64_t memory_cap_bytes) {
  const int count = DeviceCount();
  if (device < 0 || device >= count) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no usable GPU with index ", device, " (", count, " found)"));
  }
  std::unique_ptr<GpuContext> ctx(new GpuContext());
  ctx->device_ = device;
  VINDEX_CUDA_RETURN_IF_ERROR(cudaSetDevice(device));
  VINDEX_CUDA_RETURN_IF_ERROR(cudaDeviceGetAttribute(
      &ctx->sm_count_, cudaDevAttrMultiProcessorCount, device));
  size_t free_bytes = 0, total_bytes = 0;
  VINDEX_CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (memory_cap_bytes == 0) {
    memory_cap_bytes = total_bytes / 10 * 9;
    const char* env = std::getenv("VINDEX_GPU_MEMORY_LIMIT_MB");
    uint64_t mb = 0;
    if (env != nullptr && absl::SimpleAtoi(env, &mb) && mb > 0) {
      memory_cap_bytes = mb << 20;
    }
  }
  VINDEX_CUDA_RETURN_IF_ERROR(
      cudaStreamCreateWithFlags(&ctx->stream_, cudaStreamNonBlocking));
  VINDEX_CUDA_RETURN_IF_ERROR(
      cudaStreamCreateWithFlags(&ctx->aux_stream_, cudaStreamNonBlocking));
  VINDEX_CUBLAS_RETURN_IF_ERROR(cublasCreate(&ctx->cublas_));
  VINDEX_CUBLAS_RETURN_IF_ERROR(cublasSetStream(ctx->cublas_, ctx->stream_));
  // Plain FP32 SGEMM (no TF32): GPU distances must agree with the CPU's.
  VINDEX_CUBLAS_RETURN_IF_ERROR(
      cublasSetMathMode(ctx->cublas_, CUBLAS_DEFAULT_MATH));
  ctx->allocator_ = std::make_unique<DeviceAllocator>(device, memory_cap_bytes);
  return ctx;
}

absl::StatusOr<GpuContext*> GpuContext::Default(int device) {
  static std::mutex mu;
  static auto* contexts = new std::map<int, GpuContext*>();  // Never freed.
  std::lock_guard<std::mutex> lock(mu);
  auto it = contexts->find(device);
  if (it != contexts->end()) return it->second;
  auto ctx = Create(device, 0);
  if (!ctx.ok()) return ctx.status();
  GpuContext* raw = ctx->release();
  contexts->emplace(device, raw);
  return raw;
}

GpuContext::~GpuContext() {
  allocator_.reset();
  if (cublas_ != nullptr) (void)cublasDestroy(cublas_);
  if (aux_stream_ != nullptr) (void)cudaStreamDestroy(aux_stream_);
  if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
}

absl::Status GpuContext::Activate() const {
  VINDEX_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
  return absl::OkStatus();
}

absl::Status GpuContext::Synchronize() const {
  VINDEX_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  VINDEX_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return absl::OkStatus();
}

}  // namespace vindex::cuda
