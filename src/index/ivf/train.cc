// IVF training: the coarse quantizer (k-means centroids), the family's own
// quantizer through StageTraining, and the assignment of rows to lists.

#include <vector>

#include "absl/strings/str_cat.h"
#include "core/allocation.h"
#include "core/metric_space.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "index/ivf/ivf_base.h"
#include "linalg/gemm.h"
#include "train/kmeans.h"

namespace vindex::internal {

absl::Status IvfIndexBase::TrainImpl(MatrixView<const float> samples,
                                     Executor* executor) {
  VINDEX_RETURN_IF_ERROR(CheckMatrix(samples, ivf_.dim, "training vector"));
  MutexLock write(write_mu_);
  CodeLayout layout = CodeLayout::kNone;
  int vec_dim = 0;
  bool with_terms = false;
  {
    ReaderLock read(mu_);  // Never waits (see mu_).
    if (lists_.total() > 0) {
      return absl::FailedPreconditionError(
          "cannot retrain an index that holds vectors");
    }
    layout = lists_.layout();
    vec_dim = lists_.vec_dim();
    with_terms = lists_.has_terms();
  }
  if (samples.rows < ivf_.nlist) {
    return absl::InvalidArgumentError(
        absl::StrCat("training needs at least nlist = ", ivf_.nlist,
                     " vectors, got ", samples.rows));
  }
  std::vector<float> normalized;
  MatrixView<const float> x = samples;
  if (ivf_.metric == Metric::kCosine) {
    VINDEX_RETURN_IF_ERROR(
        CopyRows(samples, true, &normalized, "training vector"));
    x = MatrixView<const float>(normalized.data(), samples.rows, ivf_.dim);
  }
  train::KMeansOptions ko;
  ko.k = ivf_.nlist;
  ko.iterations = ivf_.kmeans_iterations;
  ko.max_points_per_centroid = ivf_.max_points_per_centroid;
  ko.seed = ivf_.seed;
  // Unit-norm centroids for inner product too (as FAISS's IVF does): with
  // raw means, the largest-inner-product assignment favours the centroids
  // of large norm, and the lists grow lopsided (docs/decisions.md, IVF).
  ko.spherical = ivf_.metric != Metric::kL2;
  ko.inner_product = ivf_.metric == Metric::kInnerProduct;
  ko.progress = ivf_.kmeans_progress;
  absl::StatusOr<train::KMeansResult> km;
  VINDEX_RETURN_IF_ERROR(TryAllocate("training the coarse quantizer", [&] {
    km = train::KMeans(x, ko, executor);
  }));
  if (!km.ok()) return km.status();
  std::vector<float> norms(ivf_.nlist);
  linalg::RowSquaredNorms(km->centroids.data(), ivf_.nlist, ivf_.dim, ivf_.dim,
                          norms.data());
  VINDEX_RETURN_IF_ERROR(
      StageTraining(x, km->centroids.data(), norms.data(), executor));
  InvertedLists fresh;
  VINDEX_RETURN_IF_ERROR(TryAllocate("creating the inverted lists", [&] {
    fresh = InvertedLists(ivf_.nlist, layout, code_m_, vec_dim, with_terms);
  }));

  WriterLock lock(mu_);
  lists_ = std::move(fresh);
  where_.Clear();
  centroids_ = std::move(km->centroids);
  centroid_norms_ = std::move(norms);
  trained_ = true;
  CommitTraining();
  return absl::OkStatus();
}

void IvfIndexBase::AssignLists(const float* centroids,
                               const float* centroid_norms,
                               MatrixView<const float> x, int32_t* out,
                               Executor* executor) const {
  // L2 adds go to the nearest centroid; inner product and cosine to the
  // centroid of largest inner product (as searches probe them).
  train::AssignNearest(centroids,
                       ivf_.metric == Metric::kL2 ? centroid_norms : nullptr,
                       ivf_.nlist, x, out, nullptr, executor);
}

}  // namespace vindex::internal
