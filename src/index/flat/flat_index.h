#ifndef VINDEX_SRC_INDEX_FLAT_FLAT_INDEX_H_
#define VINDEX_SRC_INDEX_FLAT_FLAT_INDEX_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/id_map.h"
#include "core/rw_mutex.h"
#include "index/leading_axes.h"
#include "io/format.h"
#include "vindex/index.h"

namespace vindex {

// Exact search over every stored vector. Vectors are kept dense in one
// row-major array (normalised for cosine) with their squared norms; Remove
// compacts the array by moving the last rows into the holes. Loaded from a
// mapped file, the array stays in the mapping until the first Add or Remove
// copies it into memory.
// Thread safety: all methods may be called concurrently; Add and Remove take
// an exclusive lock, searches a shared one, so a search sees an Add either
// entirely or not at all.
class FlatIndex final : public Index, public internal::LeadingAxesFirst {
 public:
  static absl::StatusOr<std::unique_ptr<FlatIndex>> Create(
      const FlatOptions& options);
  // Reads the sections after the header (see io/format.h).
  static absl::StatusOr<std::unique_ptr<Index>> Load(
      const io::FileHeader& header, io::ContainerReader& reader);

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

  // Test and bench hook: 0 forces the SIMD scan, 1 the GEMM path, -1 chooses.
  void set_force_gemm_for_testing(int mode) { force_gemm_ = mode; }

  // Cosine single queries then screen their rows (index/ip_screen.h).
  void SetLeadingAxesFirst() override { leading_axes_first_ = true; }
  bool leading_axes_first() const { return leading_axes_first_; }

 private:
  // The bodies of the public calls, which run them inside GuardedCall.
  absl::Status TrainImpl(MatrixView<const float> samples, Executor* executor);
  absl::Status AddImpl(MatrixView<const float> vectors,
                       absl::Span<const int64_t> ids, Executor* executor);
  absl::Status SearchImpl(MatrixView<const float> queries,
                          const SearchParams& params, SearchOutput out,
                          Executor* executor) const;
  absl::Status SaveImpl(Writer& writer) const;
  absl::Status RemoveImpl(absl::Span<const int64_t> ids);
  absl::Status GetVectorsImpl(absl::Span<const int64_t> ids,
                              MatrixView<float> out) const;

  explicit FlatIndex(const FlatOptions& options) : options_(options) {}

  // The vector array, wherever it lives.
  const float* data() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return mapped_ != nullptr ? mapped_ : vectors_.data();
  }
  // Moves mapped vectors into vectors_ (copy-on-write). On failure nothing
  // changed.
  absl::Status MaterializeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FlatOptions options_;
  int force_gemm_ = -1;
  // Set once before the index is shared (LeadingAxesFirst).
  bool leading_axes_first_ = false;
  mutable internal::RwMutex mu_;  // Writer-preferring (see rw_mutex.h).
  // size() * dim floats, unless mapped_.
  std::vector<float> vectors_ ABSL_GUARDED_BY(mu_);
  // size() * dim floats in a mapping, kept alive by mapping_.
  const float* mapped_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::shared_ptr<const void> mapping_ ABSL_GUARDED_BY(mu_);
  // ||row||^2, for the GEMM L2 path.
  std::vector<float> sq_norms_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> ids_ ABSL_GUARDED_BY(mu_);         // Caller id per row.
  internal::IdMap<int64_t> row_of_ ABSL_GUARDED_BY(mu_);  // Caller id -> row.
};

}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_FLAT_FLAT_INDEX_H_
