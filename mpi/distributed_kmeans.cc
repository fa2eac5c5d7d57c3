// k-means across ranks: the single-process k-means (train/kmeans) with its
// collectives mapped onto a Communicator.

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/metric_space.h"
#include "core/validate.h"
#include "index/ivf/ivf_base.h"
#include "train/kmeans.h"
#include "vindex/mpi/distributed.h"

namespace vindex::mpi {
namespace {

// This rank's rows of a sample spread over the ranks in rank order.
class RankPartition final : public train::KMeansPartition {
 public:
  RankPartition(Communicator& comm, int64_t total, int64_t first)
      : comm_(comm), total_(total), first_(first) {}
  int64_t total_rows() const override { return total_; }
  int64_t first_row() const override { return first_; }
  absl::Status Agree(const absl::Status& local) override {
    return comm_.AgreeOnStatus(local);
  }
  absl::Status SumInt64(absl::Span<int64_t> v) override {
    return comm_.SumInt64(v);
  }
  absl::Status SumDouble(absl::Span<double> v) override {
    return comm_.SumDouble(v);
  }
  absl::Status MaxFloat(float* v) override {
    return comm_.MaxFloat(absl::MakeSpan(v, 1));
  }
  absl::Status Concatenate(absl::Span<const float> mine,
                           std::vector<float>* all) override {
    std::string bytes;
    absl::Status s = comm_.AllGatherBytes(
        std::string_view(reinterpret_cast<const char*>(mine.data()),
                         mine.size() * sizeof(float)),
        &bytes);
    if (!s.ok()) return s;
    all->resize(bytes.size() / sizeof(float));
    std::memcpy(all->data(), bytes.data(), all->size() * sizeof(float));
    return absl::OkStatus();
  }

 private:
  Communicator& comm_;
  int64_t total_;
  int64_t first_;
};

}  // namespace

// Row counts of every rank: this rank's first row and the total.
absl::Status RowOffsets(Communicator& comm, int64_t my_rows, int64_t* first,
                        int64_t* total) {
  std::vector<int64_t> counts(comm.size(), 0);
  counts[comm.rank()] = my_rows;
  if (absl::Status s = comm.SumInt64(absl::MakeSpan(counts)); !s.ok()) return s;
  *first = 0;
  *total = 0;
  for (int r = 0; r < comm.size(); ++r) {
    if (r < comm.rank()) *first += counts[r];
    *total += counts[r];
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<std::vector<float>> RunKMeans(
    Communicator& comm, MatrixView<const float> my_rows,
    const train::KMeansOptions& options, Executor* executor) {
  // Every rank must agree on the dimension before any collective uses it.
  int64_t dims[2] = {my_rows.cols, -my_rows.cols};
  if (absl::Status s = comm.MaxInt64(absl::MakeSpan(dims, 2)); !s.ok())
    return s;
  absl::Status local;
  if (dims[0] != -dims[1]) {
    local = absl::InvalidArgumentError(absl::StrCat(
        "ranks disagree on the dimension (", -dims[1], " to ", dims[0], ")"));
  }
  if (absl::Status s = comm.AgreeOnStatus(local); !s.ok()) return s;
  int64_t first = 0, total = 0;
  if (absl::Status s = RowOffsets(comm, my_rows.rows, &first, &total);
      !s.ok()) {
    return s;
  }
  RankPartition part(comm, total, first);
  absl::StatusOr<train::KMeansResult> r =
      train::KMeans(my_rows, options, executor, &part);
  if (!r.ok()) return r.status();
  return std::move(r->centroids);
}

}  // namespace

absl::StatusOr<std::vector<float>> DistributedKMeans(
    Communicator& comm, MatrixView<const float> my_rows,
    const DistributedKMeansOptions& options, Executor* executor) {
  train::KMeansOptions ko;
  ko.k = options.k;
  ko.iterations = options.iterations;
  ko.max_points_per_centroid = options.max_points_per_centroid;
  ko.seed = options.seed;
  ko.spherical = options.spherical;
  ko.inner_product = options.inner_product;
  return RunKMeans(comm, my_rows, ko, executor);
}

absl::StatusOr<std::vector<float>> TrainIvfCentroids(
    Communicator& comm, const IvfCommonOptions& ivf,
    MatrixView<const float> my_samples, Executor* executor) {
  std::vector<float> normalized;
  MatrixView<const float> x = my_samples;
  absl::Status local;
  local = internal::CheckMatrix(my_samples, ivf.dim, "training vector",
                                /*allow_empty=*/true);
  if (local.ok() && ivf.metric == Metric::kCosine && my_samples.rows > 0) {
    // As IVF Train does: cosine trains on unit-length rows.
    local =
        internal::CopyRows(my_samples, true, &normalized, "training vector");
    x = MatrixView<const float>(normalized.data(), my_samples.rows, ivf.dim);
  }
  if (absl::Status s = comm.AgreeOnStatus(local); !s.ok()) return s;
  train::KMeansOptions ko = internal::CoarseKMeansOptions(ivf);
  ko.progress = nullptr;  // Not called on ranks in step; see the build.
  return RunKMeans(comm, x, ko, executor);
}

}  // namespace vindex::mpi
