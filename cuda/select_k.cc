#include "select_k.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "cuda_status.h"

namespace vindex::cuda {

bool UseRadix(internal::GpuSelectAlgo algo, int k) {
  switch (algo) {
    case internal::GpuSelectAlgo::kBlockSort:
      return false;
    case internal::GpuSelectAlgo::kRadix:
      return true;
    case internal::GpuSelectAlgo::kAuto:
      break;
  }
  return k > kBlockSelectMaxK;
}

int64_t ChooseChunk(const GpuContext& ctx, int64_t rows, int64_t cols, int k,
                    bool radix) {
  // Resident blocks per SM: 256-thread block sort ~7 (32 KiB of shared
  // memory each), 1024-thread radix ~2. Several waves of blocks keep the
  // last, partly filled wave from costing much.
  const int64_t want_blocks =
      static_cast<int64_t>(ctx.sm_count()) * (radix ? 2 * 4 : 7 * 8);
  // A chunk much shorter than this spends its time on fixed costs (initial
  // sorts, histogram passes).
  const int64_t min_chunk = radix ? std::max<int64_t>(16 * k, 16384)
                                  : std::max<int64_t>(16 * k, 8192);
  int64_t chunks = (want_blocks + rows - 1) / rows;
  chunks = std::min(chunks, std::max<int64_t>(1, cols / min_chunk));
  chunks = std::max<int64_t>(chunks, 1);
  return (cols + chunks - 1) / chunks;
}

absl::Status LaunchSelectPass(cudaStream_t stream, const SelectKArgs& args,
                              bool radix) {
  const int max_k = radix ? kRadixSelectMaxK : kBlockSelectMaxK;
  if (args.k < 1 || args.k > max_k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GPU ", radix ? "radix" : "block-sort",
        " k-selection supports 1 <= k <= ", max_k, ", got ", args.k));
  }
  if (args.rows == 0 || args.cols == 0) return absl::OkStatus();
  VINDEX_CUDA_RETURN_IF_ERROR(radix ? LaunchRadixSelect(args, stream)
                                    : LaunchBlockSelect(args, stream));
  return absl::OkStatus();
}

absl::Status SelectK(GpuContext& ctx, SelectKArgs args,
                     internal::GpuSelectAlgo algo, float* out_dist,
                     int32_t* out_idx) {
  const bool radix = UseRadix(algo, args.k);
  const int64_t chunk = ChooseChunk(ctx, args.rows, args.cols, args.k, radix);
  const int64_t chunks = (args.cols + chunk - 1) / chunk;
  if (chunks == 1) {
    args.chunk = args.cols;
    args.out_dist = out_dist;
    args.out_idx = out_idx;
    args.out_ld = args.k;
    return LaunchSelectPass(ctx.stream(), args, radix);
  }
  // Pass 1: k candidates per chunk; pass 2: k of chunks * k per row.
  const int64_t width = chunks * args.k;
  const size_t n = static_cast<size_t>(args.rows) * width;
  VINDEX_ASSIGN_OR_RETURN(DeviceBuffer cand_dist,
                          ctx.allocator().Allocate(n * sizeof(float)));
  VINDEX_ASSIGN_OR_RETURN(DeviceBuffer cand_idx,
                          ctx.allocator().Allocate(n * sizeof(int32_t)));
  args.chunk = chunk;
  args.out_dist = cand_dist.as<float>();
  args.out_idx = cand_idx.as<int32_t>();
  args.out_ld = width;
  VINDEX_RETURN_IF_ERROR(LaunchSelectPass(ctx.stream(), args, radix));

  SelectKArgs merge;
  merge.dist = cand_dist.as<float>();
  merge.rows = args.rows;
  merge.cols = width;
  merge.ld = width;
  merge.in_idx = cand_idx.as<int32_t>();
  merge.chunk = width;
  merge.k = args.k;
  merge.out_dist = out_dist;
  merge.out_idx = out_idx;
  merge.out_ld = args.k;
  // Scratch goes back to the cache when this returns; later work on the same
  // stream is ordered after the merge, so reuse is safe.
  return LaunchSelectPass(ctx.stream(), merge, radix);
}

}  // namespace vindex::cuda
