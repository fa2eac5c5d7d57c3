#ifndef VINDEX_CUDA_SELECT_K_KERNELS_H_
#define VINDEX_CUDA_SELECT_K_KERNELS_H_

// Launchers of the GPU k-selection kernels (block_select.cu,
// radix_select.cu). Plain C++: no Abseil, so nvcc compiles these files alone.

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vindex::cuda {

// One k-selection pass. Every row r of `dist` is cut into chunks of `chunk`
// columns; each (row, chunk) writes its k best entries, ascending by
// (value, id), to out_*[r * out_ld + chunk_index * k ..]. An entry's value is
// dist[r * ld + c] (+ col_bias[c] when col_bias is set) and its id is
// in_idx[r * ld + c] when in_idx is set (negative = excluded), else
// col_offset + c. Excluded entries: NaN values, and with col_mask set, those
// whose bit (col_offset + c) is clear. Missing results are id -1, +inf.
struct SelectKArgs {
  const float* dist = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t ld = 0;
  const float* col_bias = nullptr;
  const uint64_t* col_mask = nullptr;
  const int32_t* in_idx = nullptr;
  int64_t col_offset = 0;
  int64_t chunk = 0;  // >= 1; chunks per row = ceil(cols / chunk).
  int k = 0;
  float* out_dist = nullptr;
  int32_t* out_idx = nullptr;
  int64_t out_ld = 0;
};

// Threshold filter + shared-memory bitonic merge, one 256-thread block per
// (row, chunk); k <= 1024.
inline constexpr int kBlockSelectMaxK = 1024;
cudaError_t LaunchBlockSelect(const SelectKArgs& args, cudaStream_t stream);

// Four 8-bit radix passes to find the k-th key, then a gather and a sort;
// one 1024-thread block per (row, chunk); k <= 4096.
inline constexpr int kRadixSelectMaxK = 4096;
cudaError_t LaunchRadixSelect(const SelectKArgs& args, cudaStream_t stream);

}  // namespace vindex::cuda

#endif  // VINDEX_CUDA_SELECT_K_KERNELS_H_
