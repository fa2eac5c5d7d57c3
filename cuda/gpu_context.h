#ifndef VINDEX_CUDA_GPU_CONTEXT_H_
#define VINDEX_CUDA_GPU_CONTEXT_H_

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "device_allocator.h"

namespace vindex::cuda {

// Everything GPU work needs on one device: the device id, one stream, one
// cuBLAS handle bound to it, and a caching allocator with a memory cap.
// Device work of a context runs on its stream, in order, so buffers returned
// to the allocator may be reused at once by later work; work put on
// aux_stream() must be joined back into stream() (an event) before its
// buffers are returned.
// Ownership: the context owns the stream, the handle and the allocator.
// Thread safety: work is serialised by holding mu() around every sequence of
// calls that uses stream(), cublas() or allocator-owned scratch.
class GpuContext {
 public:
  // The process-wide context of `device` (created on first use, never
  // destroyed). Its memory cap is VINDEX_GPU_MEMORY_LIMIT_MB mebibytes when
  // that environment variable is set, else 90% of the device's memory.
  // FailedPrecondition when the device is not usable.
  static absl::StatusOr<GpuContext*> Default(int device = 0);
  // A private context; memory_cap_bytes 0 means the default cap.
  static absl::StatusOr<std::unique_ptr<GpuContext>> Create(
      int device, uint64_t memory_cap_bytes);
  ~GpuContext();
  GpuContext(const GpuContext&) = delete;
  GpuContext& operator=(const GpuContext&) = delete;

  int device() const { return device_; }
  int sm_count() const { return sm_count_; }
  cudaStream_t stream() const { return stream_; }
  // A second stream for work that overlaps stream() (ordered by events).
  cudaStream_t aux_stream() const { return aux_stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  DeviceAllocator& allocator() { return *allocator_; }
  std::mutex& mu() { return mu_; }

  // Makes this context's device current on the calling thread.
  absl::Status Activate() const;
  // Waits for the stream and reports any error raised by its work.
  absl::Status Synchronize() const;

 private:
  GpuContext() = default;

  int device_ = 0;
  int sm_count_ = 1;
  cudaStream_t stream_ = nullptr;
  cudaStream_t aux_stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::unique_ptr<DeviceAllocator> allocator_;
  std::mutex mu_;
};

// Number of usable CUDA devices (0 when there is no driver or no device).
int DeviceCount();

}  // namespace vindex::cuda

#endif  // VINDEX_CUDA_GPU_CONTEXT_H_
