// The public coarse-quantizer calls (vindex/ivf_quantizer.h) on IvfIndexBase.

#include "vindex/ivf_quantizer.h"

#include "absl/strings/str_cat.h"
#include "index/ivf/ivf_base.h"

namespace vindex {
namespace {

absl::Status NotIvf(const Index& index) {
  return absl::InvalidArgumentError(
      absl::StrCat("not a CPU IVF index: ", index.info().description));
}

}  // namespace

absl::StatusOr<std::vector<float>> IvfCentroids(const Index& index) {
  const auto* ivf = dynamic_cast<const internal::IvfIndexBase*>(&index);
  if (ivf == nullptr) return NotIvf(index);
  return ivf->CoarseCentroids();
}

absl::Status TrainIvfWithCentroids(Index& index,
                                   MatrixView<const float> centroids,
                                   MatrixView<const float> samples,
                                   Executor* executor) {
  auto* ivf = dynamic_cast<internal::IvfIndexBase*>(&index);
  if (ivf == nullptr) return NotIvf(index);
  return ivf->TrainWithCentroids(centroids, samples, executor);
}

absl::Status AssignIvfLists(const Index& index, MatrixView<const float> vectors,
                            absl::Span<int32_t> lists, Executor* executor) {
  const auto* ivf = dynamic_cast<const internal::IvfIndexBase*>(&index);
  if (ivf == nullptr) return NotIvf(index);
  return ivf->AssignToLists(vectors, lists, executor);
}

absl::Status AddIvfWithLists(Index& index, MatrixView<const float> vectors,
                             absl::Span<const int64_t> ids,
                             absl::Span<const int32_t> lists,
                             Executor* executor) {
  auto* ivf = dynamic_cast<internal::IvfIndexBase*>(&index);
  if (ivf == nullptr) return NotIvf(index);
  return ivf->AddToLists(vectors, ids, lists, executor);
}

absl::Status ProbeIvfLists(const Index& index, MatrixView<const float> queries,
                           int nprobe, std::vector<int64_t>* probe,
                           std::vector<float>* coarse, int* resolved_nprobe,
                           Executor* executor) {
  const auto* ivf = dynamic_cast<const internal::IvfIndexBase*>(&index);
  if (ivf == nullptr) return NotIvf(index);
  return ivf->Probe(queries, nprobe, probe, coarse, resolved_nprobe, executor);
}

absl::Status SearchIvfProbedLists(const Index& index,
                                  MatrixView<const float> queries,
                                  absl::Span<const int64_t> probe,
                                  absl::Span<const float> coarse, int nprobe,
                                  const SearchParams& params, SearchOutput out,
                                  Executor* executor) {
  const auto* ivf = dynamic_cast<const internal::IvfIndexBase*>(&index);
  if (ivf == nullptr) return NotIvf(index);
  return ivf->SearchProbes(queries, probe, coarse, nprobe, params, out,
                           executor);
}

}  // namespace vindex
