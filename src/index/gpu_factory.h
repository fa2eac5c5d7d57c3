#ifndef VINDEX_SRC_INDEX_GPU_FACTORY_H_
#define VINDEX_SRC_INDEX_GPU_FACTORY_H_

// The bridge between the CPU library and the CUDA backend (cuda/). Every
// function here exists in every build: with CUDA they are implemented in
// cuda/gpu_api.cc, without it in cuda/gpu_stub.cc, where they return
// Unimplemented. No CUDA type appears here.

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vindex/index.h"

namespace vindex::internal {

// True when this library was built with the CUDA backend.
bool BuiltWithCuda();

// Builds an empty GPU Flat index on device 0 (options.device is ignored).
// Unimplemented without CUDA; FailedPrecondition when no GPU is usable.
absl::StatusOr<std::unique_ptr<Index>> MakeGpuFlatIndex(
    const FlatOptions& options);

// As MakeGpuFlatIndex, on a private GPU context whose allocator holds at
// most memory_cap_bytes (for tests of the out-of-memory paths, which must
// give ResourceExhausted and leave the index as it was).
absl::StatusOr<std::unique_ptr<Index>> MakeGpuFlatIndexWithMemoryCap(
    const FlatOptions& options, uint64_t memory_cap_bytes);

// Which GPU k-selection algorithm to run; kAuto chooses by shape.
enum class GpuSelectAlgo { kAuto = 0, kBlockSort = 1, kRadix = 2 };

// Largest k the GPU k-selection supports (both algorithms; the block-sort
// one only up to kGpuBlockSelectMaxK).
inline constexpr int kGpuSelectMaxK = 4096;
inline constexpr int kGpuBlockSelectMaxK = 1024;

// Stand-alone GPU k-selection over a host matrix (uploads it, selects on
// device 0, downloads the result): for every row of dist (rows x cols, row
// stride ld floats) writes the k smallest values, ascending, ties by smaller
// column, into out_dist[r * k ..] and their column indices into
// out_idx[r * k ..]. NaN entries are never selected; missing results are
// column -1 and +inf. The result equals internal::SelectTopK on the same row.
absl::Status GpuSelectKHost(const float* dist, int64_t rows, int64_t cols,
                            int64_t ld, int k, GpuSelectAlgo algo,
                            int64_t* out_idx, float* out_dist);

}  // namespace vindex::internal

#endif  // VINDEX_SRC_INDEX_GPU_FACTORY_H_
