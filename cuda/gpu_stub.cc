// The CUDA backend's entry points in a build without CUDA: no GPU is ever
// usable, and every GPU factory returns Unimplemented, so user code needs no
// #ifdef.
#include "index/gpu_factory.h"

namespace vindex {

int CudaDeviceCount() { return 0; }

namespace internal {

bool BuiltWithCuda() { return false; }

absl::StatusOr<std::unique_ptr<Index>> MakeGpuFlatIndex(const FlatOptions&) {
  return absl::UnimplementedError(
      "this build of vindex has no CUDA backend (GPU Flat index)");
}

absl::StatusOr<std::unique_ptr<Index>> MakeGpuFlatIndexWithMemoryCap(
    const FlatOptions&, uint64_t) {
  return absl::UnimplementedError(
      "this build of vindex has no CUDA backend (GPU Flat index)");
}

absl::Status GpuSelectKHost(const float*, int64_t, int64_t, int64_t, int,
                            GpuSelectAlgo, int64_t*, float*) {
  return absl::UnimplementedError(
      "this build of vindex has no CUDA backend (GPU k-selection)");
}

}  // namespace internal
}  // namespace vindex
