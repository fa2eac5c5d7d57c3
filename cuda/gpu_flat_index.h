#ifndef VINDEX_CUDA_GPU_FLAT_INDEX_H_
#define VINDEX_CUDA_GPU_FLAT_INDEX_H_

#include <memory>
#include <shared_mutex>
#include <vector>

#include "core/id_map.h"
#include "device_allocator.h"
#include "gpu_context.h"
#include "vindex/index.h"

namespace vindex::cuda {

// Exact search on the GPU. Vectors (normalised for cosine) and their squared
// norms live on the device; a host mirror of vectors and ids serves Save,
// GetVectors and searches with k above the GPU's k-selection limit (4096),
// which run on the CPU path. A batch of queries is searched tile by tile:
// one cuBLAS SGEMM per (query tile x vector tile) writes -2 q.x (or -q.x),
// the k-selection kernel adds ||x||^2, applies the filter bitset and keeps k
// candidates per query and tile, and a last selection merges the tiles, so
// the full distance matrix never exists. Saved files are the CPU Flat
// format (LoadIndex gives a CPU FlatIndex).
// Ownership: owns its device buffers; shares the process-wide GpuContext.
// Thread safety: all methods may be called concurrently; Add and Remove take
// an exclusive lock and searches a shared one; device work is serialised on
// the context's stream.
class GpuFlatIndex final : public Index {
 public:
  // FailedPrecondition when no GPU is usable.
  static absl::StatusOr<std::unique_ptr<GpuFlatIndex>> Create(
      const FlatOptions& options);
  // An index on a private context of its own with this memory cap (tests
  // of the out-of-memory paths).
  static absl::StatusOr<std::unique_ptr<GpuFlatIndex>> CreateWithMemoryCap(
      const FlatOptions& options, uint64_t memory_cap_bytes);

  IndexInfo info() const override;
  Capabilities capabilities() const override;
  absl::Status Train(MatrixView<const float> samples,
                     Executor* executor = nullptr) override;
  absl::Status Add(MatrixView<const float> vectors,
                   absl::Span<const int64_t> ids,
                   Executor* executor = nullptr) override;
  absl::Status Search(MatrixView<const float> queries,
                      const SearchParams& params, SearchOutput out,
                      Executor* executor = nullptr) const override;
  absl::Status Save(Writer& writer) const override;
  absl::Status Remove(absl::Span<const int64_t> ids) override;
  absl::Status GetVectors(absl::Span<const int64_t> ids,
                          MatrixView<float> out) const override;

 private:
  GpuFlatIndex(const FlatOptions& options, GpuContext* ctx)
      : options_(options), ctx_(ctx) {}
  static absl::Status CheckCreate(const FlatOptions& options);

  // Device search of dense rows `q` (already normalised for cosine) with
  // internal scores out (smaller is closer). Caller holds mu_ (shared).
  absl::Status SearchDevice(const float* q, int64_t nq, int k,
                            const uint64_t* mask_words, int64_t* out_ids,
                            int64_t ids_stride, float* out_scores,
                            int64_t scores_stride) const;

  FlatOptions options_;
  std::unique_ptr<GpuContext> own_ctx_;  // Set for a private context.
  GpuContext* ctx_;  // own_ctx_, or the process-wide context (not owned).
  mutable std::shared_mutex mu_;
  std::vector<float> vectors_;       // Host mirror, size() * dim floats.
  std::vector<float> sq_norms_;      // Host mirror of ||row||^2.
  std::vector<int64_t> ids_;         // Caller id per row.
  internal::IdMap<int64_t> row_of_;  // Caller id -> row.
  DeviceBuffer d_vectors_;           // capacity_ * dim floats.
  DeviceBuffer d_norms_;             // capacity_ floats.
  int64_t capacity_ = 0;             // Rows the device buffers hold.
};

}  // namespace vindex::cuda

#endif  // VINDEX_CUDA_GPU_FLAT_INDEX_H_
