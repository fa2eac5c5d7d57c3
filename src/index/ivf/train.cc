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
  VINDEX_ASSIGN_OR_RETURN(const ListsShape shape, ShapeForRetrain());
  if (samples.rows < ivf_.nlist) {
    return absl::InvalidArgumentError(
        absl::StrCat("training needs at least nlist = ", ivf_.nlist,
                     " vectors, got ", samples.rows));
  }
  std::vector<float> normalized;
  VINDEX_ASSIGN_OR_RETURN(
      const MatrixView<const float> x,
      RowsForMetric(ivf_.metric, samples, &normalized, "training vector"));
  const train::KMeansOptions ko = CoarseKMeansOptions(ivf_);
  absl::StatusOr<train::KMeansResult> km;
  VINDEX_RETURN_IF_ERROR(TryAllocate("training the coarse quantizer", [&] {
    km = train::KMeans(x, ko, executor);
  }));
  if (!km.ok()) return km.status();
  return StageAndPublish(x, std::move(km->centroids), shape, executor);
}

absl::Status IvfIndexBase::TrainWithCentroidsImpl(
    MatrixView<const float> centroids, MatrixView<const float> samples,
    Executor* executor) {
  VINDEX_RETURN_IF_ERROR(CheckMatrix(centroids, ivf_.dim, "centroid"));
  if (centroids.rows != ivf_.nlist) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected nlist = ", ivf_.nlist, " centroids, got ", centroids.rows));
  }
  VINDEX_RETURN_IF_ERROR(CheckMatrix(samples, ivf_.dim, "training vector",
                                     /*allow_empty=*/true));
  MutexLock write(write_mu_);
  VINDEX_ASSIGN_OR_RETURN(const ListsShape shape, ShapeForRetrain());
  std::vector<float> normalized;
  VINDEX_ASSIGN_OR_RETURN(
      const MatrixView<const float> x,
      RowsForMetric(ivf_.metric, samples, &normalized, "training vector"));
  std::vector<float> c;
  VINDEX_RETURN_IF_ERROR(CopyRows(centroids, false, &c, "centroid"));
  return StageAndPublish(x, std::move(c), shape, executor);
}

absl::StatusOr<IvfIndexBase::ListsShape> IvfIndexBase::ShapeForRetrain() const {
  ReaderLock read(mu_);  // Never waits (see mu_).
  if (lists_.total() > 0) {
    return absl::FailedPreconditionError(
        "cannot retrain an index that holds vectors");
  }
  return ListsShape{.layout = lists_.layout(),
                    .vec_dim = lists_.vec_dim(),
                    .with_terms = lists_.has_terms()};
}

absl::Status IvfIndexBase::StageAndPublish(MatrixView<const float> x,
                                           std::vector<float> centroids,
                                           ListsShape shape,
                                           Executor* executor) {
  std::vector<float> norms(ivf_.nlist);
  linalg::RowSquaredNorms(centroids.data(), ivf_.nlist, ivf_.dim, ivf_.dim,
                          norms.data());
  VINDEX_RETURN_IF_ERROR(
      StageTraining(x, centroids.data(), norms.data(), executor));
  InvertedLists fresh;
  VINDEX_RETURN_IF_ERROR(TryAllocate("creating the inverted lists", [&] {
    fresh = InvertedLists(ivf_.nlist, shape.layout, code_m_, shape.vec_dim,
                          shape.with_terms);
    if (KeepsListHeads()) {
      fresh.EnableHeads(ListHeadCodec(centroids.data(), ivf_.nlist));
    }
  }));

  WriterLock lock(mu_);
  lists_ = std::move(fresh);
  where_.Clear();
  centroids_ = std::move(centroids);
  centroid_norms_ = std::move(norms);
  CodeCentroidHeads();
  trained_ = true;
  CommitTraining();
  return absl::OkStatus();
}

train::KMeansOptions CoarseKMeansOptions(const IvfCommonOptions& ivf) {
  train::KMeansOptions ko;
  ko.k = ivf.nlist;
  ko.iterations = ivf.kmeans_iterations;
  ko.max_points_per_centroid = ivf.max_points_per_centroid;
  ko.seed = ivf.seed;
  // Uniform seeds, as FAISS's IVF training draws them: k-means++ favours
  // outlying points, which left sift-wallpapers' dense regions few, large
  // lists (docs/decisions.md, IVF).
  ko.seeding = train::KMeansOptions::Seeding::kUniform;
  // Unit-norm centroids for inner product too (as FAISS's IVF does): with
  // raw means, the largest-inner-product assignment favours the centroids
  // of large norm, and the lists grow lopsided (docs/decisions.md, IVF).
  ko.spherical = ivf.metric != Metric::kL2;
  ko.inner_product = ivf.metric == Metric::kInnerProduct;
  ko.progress = ivf.kmeans_progress;
  return ko;
}

absl::Status IvfIndexBase::AssignToListsImpl(MatrixView<const float> vectors,
                                             absl::Span<int32_t> lists,
                                             Executor* executor) const {
  VINDEX_RETURN_IF_ERROR(
      CheckMatrix(vectors, ivf_.dim, "vector", /*allow_empty=*/true));
  if (static_cast<int64_t>(lists.size()) != vectors.rows) {
    return absl::InvalidArgumentError(
        absl::StrCat("need one list entry per vector: ", lists.size(), " for ",
                     vectors.rows));
  }
  ReaderLock read(mu_);
  if (!trained_) return absl::FailedPreconditionError("index is not trained");
  std::vector<float> rows;
  VINDEX_RETURN_IF_ERROR(TryAllocate("assigning vectors", [&] {
    return CopyRows(vectors, ivf_.metric == Metric::kCosine, &rows, "vector");
  }));
  AssignLists(centroids_.data(), centroid_norms_.data(),
              MatrixView<const float>(rows.data(), vectors.rows, ivf_.dim),
              lists.data(), executor);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> IvfIndexBase::CoarseCentroids() const {
  ReaderLock read(mu_);
  if (!trained_) return absl::FailedPreconditionError("index is not trained");
  return centroids_;
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
