#ifndef VINDEX_CUDA_SELECT_K_H_
#define VINDEX_CUDA_SELECT_K_H_

// GPU k-selection over a device matrix: picks the algorithm and the split of
// each row into chunks from the shape, and runs one or two passes.

#include <cstdint>

#include "absl/status/status.h"
#include "gpu_context.h"
#include "index/gpu_factory.h"
#include "select_k_kernels.h"

namespace vindex::cuda {

// Whether to run the radix kernel: kAuto picks block sort up to k = 1024
// (the register-threshold filter wins when few entries pass) and radix above.
bool UseRadix(internal::GpuSelectAlgo algo, int k);

// Columns per chunk so that rows x chunks blocks fill the device while each
// chunk stays long enough to amortise its fixed cost.
int64_t ChooseChunk(const GpuContext& ctx, int64_t rows, int64_t cols, int k,
                    bool radix);

// Launches one pass described by `args` (see SelectKArgs) with `radix` or the
// block-sort kernel on `stream`. The caller holds the context's mu().
absl::Status LaunchSelectPass(cudaStream_t stream, const SelectKArgs& args,
                              bool radix);

// Full selection of every row of a device matrix into out_* (rows x k, row
// stride k): splits rows into chunks when that helps, selects per chunk into
// scratch and merges. args.chunk, args.out_* and args.out_ld are ignored.
// The caller holds ctx.mu(); work is queued on ctx.stream().
absl::Status SelectK(GpuContext& ctx, SelectKArgs args,
                     internal::GpuSelectAlgo algo, float* out_dist,
                     int32_t* out_idx);

}  // namespace vindex::cuda

#endif  // VINDEX_CUDA_SELECT_K_H_
