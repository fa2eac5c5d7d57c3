#ifndef VINDEX_SRC_INDEX_ROTATION_ROTATED_INDEX_H_
#define VINDEX_SRC_INDEX_ROTATION_ROTATED_INDEX_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/mutex.h"
#include "io/format.h"
#include "train/pca_rotation.h"
#include "vindex/index.h"

namespace vindex {

// A learned orthogonal rotation in front of any index ("Rot,<inner>"): Train
// learns R, whose first coordinates are the training vectors' leading
// principal axes (largest variance first; see train::PcaRotation), and
// trains the inner index on the rotated vectors; Add stores R x,
// Search looks up R q. An orthogonal map keeps L2 distances, inner products
// and norms, so an exact inner index answers as on the raw data (distances
// equal within float rounding; codes learned on R x can lose recall), while
// most of each distance sits in the first coordinates, where a partial
// distance checked against a bound stops early. GetVectors rotates back: what
// was added, within float rounding. Ids pass through unchanged, so filters and
// Remove delegate. Inputs are validated before they are rotated, with the inner
// index's errors. The rotation runs on the CPU whatever device the inner index
// is on. info() reports the inner family (its search knobs apply) and the
// description "Rot," + the inner description; the saved file's family is
// IndexFamily::kRotated.
// Owns the inner index. Thread safety: as the inner index. R changes only
// when an empty index is retrained; Train, Add, Remove and Save are
// serialised here as well, so a save holds the index as of one moment.
class RotatedIndex final : public Index {
 public:
  // `inner` must be empty (FailedPrecondition otherwise); nesting a
  // RotatedIndex is InvalidArgument.
  static absl::StatusOr<std::unique_ptr<RotatedIndex>> Create(
      std::unique_ptr<Index> inner);
  // Reads the rotation section after the header, then the inner index's
  // whole container with `load_inner` (see io/format.h).
  static absl::StatusOr<std::unique_ptr<Index>> Load(
      const io::FileHeader& header, io::ContainerReader& container,
      Reader& reader,
      absl::FunctionRef<absl::StatusOr<std::unique_ptr<Index>>(Reader&)>
          load_inner);

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

  // The learned rotation as a dense matrix (dim x dim, row-major, y = R x),
  // empty before Train.
  std::vector<float> rotation() const;

 private:
  using Rotation = train::PcaRotation;

  explicit RotatedIndex(std::unique_ptr<Index> inner);
  std::shared_ptr<const Rotation> CurrentRotation() const;

  absl::Status TrainImpl(MatrixView<const float> samples, Executor* executor);
  absl::Status AddImpl(MatrixView<const float> vectors,
                       absl::Span<const int64_t> ids, Executor* executor);
  absl::Status SearchImpl(MatrixView<const float> queries,
                          const SearchParams& params, SearchOutput out,
                          Executor* executor) const;
  absl::Status SaveImpl(Writer& writer) const;

  const std::unique_ptr<Index> inner_;
  const int dim_;
  const Metric metric_;
  // Serialises Train, Add, Remove and Save (the inner index is only mutated
  // under it, so its size is stable while it is held).
  mutable internal::Mutex mutation_mu_;
  // Guards the pointer only; the rotation it points to never changes.
  mutable internal::Mutex rotation_mu_;
  std::shared_ptr<const Rotation> rotation_ ABSL_GUARDED_BY(rotation_mu_);
};

namespace internal {

// Rotates the rows of x (y[i] = R x[i]) into *storage, resized to fit
// (ResourceExhausted "rotating <what>" if it cannot be), split over the
// executor; returns the rotated rows as a view of *storage.
absl::StatusOr<MatrixView<const float>> RotateInto(
    const train::PcaRotation& rotation, MatrixView<const float> x,
    std::vector<float>* storage, Executor* executor, absl::string_view what);

}  // namespace internal
}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_ROTATION_ROTATED_INDEX_H_
