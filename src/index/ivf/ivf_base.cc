// The shared IVF index: option checks, construction, info, and the public
// calls, each running its ...Impl body inside GuardedCall.

#include "index/ivf/ivf_base.h"

#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "core/call_guard.h"
#include "core/list_location.h"
#include "core/status_macros.h"
#include "core/validate.h"

namespace vindex::internal {

absl::Status CheckIvfOptions(const IvfCommonOptions& o) {
  VINDEX_RETURN_IF_ERROR(CheckDimMetric(o.dim, o.metric));
  if (o.device == Device::kGpu) {
    return absl::InvalidArgumentError(
        "this is the CPU IVF index; the GPU one comes from cuda/");
  }
  if (o.nlist < 1)
    return absl::InvalidArgumentError(absl::StrCat("nlist ", o.nlist, " < 1"));
  if (o.default_nprobe < 1 || o.default_nprobe > kMaxIvfNprobe) {
    return absl::InvalidArgumentError(
        absl::StrCat("default_nprobe must be in [1, ", kMaxIvfNprobe, "], got ",
                     o.default_nprobe));
  }
  if (o.kmeans_iterations < 0 || o.kmeans_iterations > kMaxKMeansIterations) {
    return absl::InvalidArgumentError(
        absl::StrCat("kmeans_iterations must be in [0, ", kMaxKMeansIterations,
                     "], got ", o.kmeans_iterations));
  }
  if (o.max_points_per_centroid < 1 ||
      o.max_points_per_centroid > kMaxPointsPerCentroid) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_points_per_centroid must be in [1, ", kMaxPointsPerCentroid,
        "], got ", o.max_points_per_centroid));
  }
  return absl::OkStatus();
}

IvfIndexBase::IvfIndexBase(IndexFamily family, const IvfCommonOptions& options,
                           CodeLayout layout, int code_m, int vec_dim,
                           bool entry_terms)
    : family_(family),
      ivf_(options),
      code_m_(code_m),
      lists_(0, layout, code_m, vec_dim, entry_terms) {
  ivf_.device = Device::kCpu;
}
// The nlist lists are created by Train or Load, once their size is known to
// be sound (a hostile file's nlist is bounded by its centroids section).

void IvfIndexBase::SetLeadingAxesFirst() {
  leading_axes_first_ = true;
  MutexLock write(write_mu_);
  WriterLock lock(mu_);
  // Untrained, training codes them; heads only speed scans up: without
  // memory for them, scan without.
  if (!trained_) return;
  CodeCentroidHeads();
  if (!KeepsListHeads()) return;
  try {
    lists_.EnableHeads(ListHeadCodec(centroids_.data(), ivf_.nlist));
  } catch (const std::bad_alloc&) {
  }
}

HeadCodec IvfIndexBase::ListHeadCodec(const float* centroids,
                                      int64_t nlist) const {
  const bool tail = static_cast<size_t>(ivf_.dim) >= kernels::kBoundedMinDim;
  return HeadCodec::FromCentroids(centroids, nlist, ivf_.dim, tail);
}

void IvfIndexBase::CodeCentroidHeads() {
  centroid_codec_.reset();
  centroid_head_codes_.clear();
  centroid_head_slack_.clear();
  const int64_t nlist = ivf_.nlist;
  // Shorter centroids are cheaper to scan in full than through their heads
  // (docs/decisions.md, IVF).
  if (!leading_axes_first_ ||
      static_cast<size_t>(ivf_.dim) < kernels::kBoundedMinDim ||
      centroids_.size() != static_cast<size_t>(nlist) * ivf_.dim) {
    return;
  }
  try {
    std::vector<uint8_t> codes(nlist * HeadCodec::kDim);
    std::vector<float> slack(nlist);
    const HeadCodec codec =
        HeadCodec::FromCentroids(centroids_.data(), nlist, ivf_.dim);
    for (int64_t c = 0; c < nlist; ++c) {
      slack[c] = codec.Encode(centroids_.data() + c * ivf_.dim,
                              codes.data() + c * HeadCodec::kDim);
    }
    centroid_codec_ = codec;
    centroid_head_codes_ = std::move(codes);
    centroid_head_slack_ = std::move(slack);
  } catch (const std::bad_alloc&) {
  }
}

IndexInfo IvfIndexBase::info() const {
  ReaderLock lock(mu_);
  IndexInfo info;
  info.family = family_;
  info.device = Device::kCpu;
  info.metric = ivf_.metric;
  info.dim = ivf_.dim;
  info.size = lists_.total();
  info.trained = trained_;
  info.memory_bytes = lists_.MemoryBytes() +
                      centroids_.capacity() * sizeof(float) +
                      centroid_norms_.capacity() * sizeof(float) +
                      centroid_head_codes_.capacity() +
                      centroid_head_slack_.capacity() * sizeof(float) +
                      where_.bytes() + ExtraMemory();
  info.description = Description();
  info.memory_mapped = lists_.mapped();
  return info;
}

absl::Status IvfIndexBase::Train(MatrixView<const float> samples,
                                 Executor* executor) {
  return internal::GuardedCall(this, "Train",
                               [&] { return TrainImpl(samples, executor); });
}

absl::Status IvfIndexBase::TrainWithCentroids(MatrixView<const float> centroids,
                                              MatrixView<const float> samples,
                                              Executor* executor) {
  return internal::GuardedCall(this, "TrainWithCentroids", [&] {
    return TrainWithCentroidsImpl(centroids, samples, executor);
  });
}

absl::Status IvfIndexBase::AssignToLists(MatrixView<const float> vectors,
                                         absl::Span<int32_t> lists,
                                         Executor* executor) const {
  return internal::GuardedCall(this, "AssignToLists", [&] {
    return AssignToListsImpl(vectors, lists, executor);
  });
}

absl::Status IvfIndexBase::Add(MatrixView<const float> vectors,
                               absl::Span<const int64_t> ids,
                               Executor* executor) {
  return internal::GuardedCall(
      this, "Add", [&] { return AddImpl(vectors, ids, nullptr, executor); });
}

absl::Status IvfIndexBase::AddToLists(MatrixView<const float> vectors,
                                      absl::Span<const int64_t> ids,
                                      absl::Span<const int32_t> lists,
                                      Executor* executor) {
  return internal::GuardedCall(this, "AddToLists", [&] {
    return AddImpl(vectors, ids, &lists, executor);
  });
}

absl::Status IvfIndexBase::Probe(MatrixView<const float> queries, int nprobe,
                                 std::vector<int64_t>* probe,
                                 std::vector<float>* coarse, int* resolved,
                                 Executor* executor) const {
  return internal::GuardedCall(this, "Probe", [&] {
    return ProbeImpl(queries, nprobe, probe, coarse, resolved, executor);
  });
}

absl::Status IvfIndexBase::SearchProbes(MatrixView<const float> queries,
                                        absl::Span<const int64_t> probe,
                                        absl::Span<const float> coarse,
                                        int nprobe, const SearchParams& params,
                                        SearchOutput out,
                                        Executor* executor) const {
  return internal::GuardedCall(this, "SearchProbes", [&] {
    return SearchProbesImpl(queries, probe, coarse, nprobe, params, out,
                            executor);
  });
}

absl::Status IvfIndexBase::Search(MatrixView<const float> queries,
                                  const SearchParams& params, SearchOutput out,
                                  Executor* executor) const {
  return internal::GuardedCall(this, "Search", [&] {
    return SearchImpl(queries, params, out, executor);
  });
}

absl::Status IvfIndexBase::Remove(absl::Span<const int64_t> ids) {
  return internal::GuardedCall(this, "Remove", [&] { return RemoveImpl(ids); });
}

absl::Status IvfIndexBase::GetVectors(absl::Span<const int64_t> ids,
                                      MatrixView<float> out) const {
  return internal::GuardedCall(this, "GetVectors",
                               [&] { return GetVectorsImpl(ids, out); });
}

absl::Status IvfIndexBase::Save(Writer& writer) const {
  return internal::GuardedCall(this, "Save", [&] { return SaveImpl(writer); });
}

absl::Status IvfIndexBase::GetVectorsImpl(absl::Span<const int64_t> ids,
                                          MatrixView<float> out) const {
  // Held from the start: a copy-on-write Remove or Add replaces lists_.
  ReaderLock lock(mu_);
  if (!keeps_vectors()) {
    return absl::UnimplementedError(absl::StrCat(
        Description(), " keeps no exact vectors (use keep_raw_vectors)"));
  }
  const int64_t d = ivf_.dim;
  if (out.rows != static_cast<int64_t>(ids.size()) || out.cols != d ||
      (out.data == nullptr && !ids.empty()) || out.row_stride() < out.cols) {
    return absl::InvalidArgumentError(
        absl::StrCat("GetVectors output must be ", ids.size(), " x ", d));
  }
  for (int64_t id : ids) {
    if (!where_.Contains(id)) {
      return absl::NotFoundError(
          absl::StrCat("id ", id, " is not in the index"));
    }
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const ListLocation at = ListLocation::Unpack(*where_.Find(ids[i]));
    std::memcpy(out.row(i), lists_.vectors(at.list) + int64_t{at.offset} * d,
                d * sizeof(float));
  }
  return absl::OkStatus();
}

}  // namespace vindex::internal
