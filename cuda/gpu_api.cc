// The CUDA backend's entry points declared in src/index/gpu_factory.h, and
// vindex::CudaDeviceCount().
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "cuda_status.h"
#include "gpu_context.h"
#include "gpu_flat_index.h"
#include "index/gpu_factory.h"
#include "select_k.h"

namespace vindex {

int CudaDeviceCount() { return cuda::DeviceCount(); }

namespace internal {

bool BuiltWithCuda() { return true; }

absl::StatusOr<std::unique_ptr<Index>> MakeGpuFlatIndex(
    const FlatOptions& options) {
  auto index = cuda::GpuFlatIndex::Create(options);
  if (!index.ok()) return index.status();
  return std::unique_ptr<Index>(std::move(*index));
}

absl::StatusOr<std::unique_ptr<Index>> MakeGpuFlatIndexWithMemoryCap(
    const FlatOptions& options, uint64_t memory_cap_bytes) {
  if (memory_cap_bytes == 0) {
    return absl::InvalidArgumentError("memory cap must be positive");
  }
  auto index =
      cuda::GpuFlatIndex::CreateWithMemoryCap(options, memory_cap_bytes);
  if (!index.ok()) return index.status();
  return std::unique_ptr<Index>(std::move(*index));
}

absl::Status GpuSelectKHost(const float* dist, int64_t rows, int64_t cols,
                            int64_t ld, int k, GpuSelectAlgo algo,
                            int64_t* out_idx, float* out_dist) {
  if (rows < 0 || cols < 0 || ld < cols || (rows > 0 && dist == nullptr)) {
    return absl::InvalidArgumentError("GpuSelectKHost: bad matrix shape");
  }
  if (k < 1 || k > kGpuSelectMaxK ||
      (algo == GpuSelectAlgo::kBlockSort && k > kGpuBlockSelectMaxK)) {
    return absl::InvalidArgumentError(
        absl::StrCat("GpuSelectKHost: k ", k, " out of range"));
  }
  if (cols >= (int64_t{1} << 31)) {
    return absl::InvalidArgumentError(
        "GpuSelectKHost: at most 2^31 - 1 columns");
  }
  if (rows == 0) return absl::OkStatus();
  VINDEX_ASSIGN_OR_RETURN(cuda::GpuContext * ctx, cuda::GpuContext::Default());
  std::lock_guard<std::mutex> lock(ctx->mu());
  VINDEX_RETURN_IF_ERROR(ctx->Activate());
  const size_t in_floats = static_cast<size_t>(rows) * cols;
  const size_t out_n = static_cast<size_t>(rows) * k;
  VINDEX_ASSIGN_OR_RETURN(cuda::DeviceBuffer d_in,
                          ctx->allocator().Allocate(in_floats * sizeof(float)));
  VINDEX_ASSIGN_OR_RETURN(cuda::DeviceBuffer d_dist,
                          ctx->allocator().Allocate(out_n * sizeof(float)));
  VINDEX_ASSIGN_OR_RETURN(cuda::DeviceBuffer d_idx,
                          ctx->allocator().Allocate(out_n * sizeof(int32_t)));
  if (cols > 0) {
    VINDEX_CUDA_RETURN_IF_ERROR(cudaMemcpy2DAsync(
        d_in.get(), cols * sizeof(float), dist, ld * sizeof(float),
        cols * sizeof(float), rows, cudaMemcpyHostToDevice, ctx->stream()));
    cuda::SelectKArgs args;
    args.dist = d_in.as<float>();
    args.rows = rows;
    args.cols = cols;
    args.ld = cols;
    args.k = k;
    VINDEX_RETURN_IF_ERROR(cuda::SelectK(*ctx, args, algo, d_dist.as<float>(),
                                         d_idx.as<int32_t>()));
  }
  std::vector<int32_t> idx(out_n, -1);
  std::vector<float> best(out_n, std::numeric_limits<float>::infinity());
  if (cols > 0) {
    VINDEX_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(idx.data(), d_idx.get(), out_n * sizeof(int32_t),
                        cudaMemcpyDeviceToHost, ctx->stream()));
    VINDEX_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(best.data(), d_dist.get(), out_n * sizeof(float),
                        cudaMemcpyDeviceToHost, ctx->stream()));
  }
  VINDEX_RETURN_IF_ERROR(ctx->Synchronize());
  for (size_t i = 0; i < out_n; ++i) {
    out_idx[i] = idx[i];
    out_dist[i] = best[i];
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace vindex
