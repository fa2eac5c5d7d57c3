#include "index/flat/flat_index.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/allocation.h"
#include "core/call_guard.h"
#include "core/filter_plan.h"
#include "core/metric_space.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "index/flat/flat_rows.h"
#include "linalg/gemm.h"

namespace vindex {

absl::StatusOr<std::unique_ptr<FlatIndex>> FlatIndex::Create(
    const FlatOptions& options) {
  VINDEX_RETURN_IF_ERROR(internal::CheckDimMetric(options.dim, options.metric));
  if (options.device == Device::kGpu) {
    return absl::InvalidArgumentError(
        "FlatIndex is the CPU index; use MakeIndex for the GPU");
  }
  FlatOptions o = options;
  o.device = Device::kCpu;
  return std::unique_ptr<FlatIndex>(new FlatIndex(o));
}

IndexInfo FlatIndex::info() const {
  internal::ReaderLock lock(mu_);
  IndexInfo info = internal::FlatInfo(options_, Device::kCpu,
                                      static_cast<int64_t>(ids_.size()));
  info.memory_bytes =
      vectors_.capacity() * sizeof(float) +
      (mapped_ != nullptr ? ids_.size() * options_.dim * sizeof(float) : 0) +
      sq_norms_.capacity() * sizeof(float) + ids_.capacity() * sizeof(int64_t) +
      row_of_.bytes();
  info.memory_mapped = mapped_ != nullptr;
  return info;
}

Capabilities FlatIndex::capabilities() const {
  return internal::FlatCapabilities();
}

absl::Status FlatIndex::Train(MatrixView<const float> samples,
                              Executor* executor) {
  return internal::GuardedCall(this, "Train",
                               [&] { return TrainImpl(samples, executor); });
}

absl::Status FlatIndex::TrainImpl(MatrixView<const float> samples, Executor*) {
  // Nothing to learn; still reject malformed input so misuse is visible.
  return internal::CheckMatrix(samples, options_.dim, "training vector",
                               /*allow_empty=*/true);
}

absl::Status FlatIndex::MaterializeLocked() {
  if (mapped_ == nullptr) return absl::OkStatus();
  const float* first = mapped_;
  const float* last = mapped_ + ids_.size() * options_.dim;
  std::vector<float> copy;
  VINDEX_RETURN_IF_ERROR(internal::TryAllocate(
      "copying mapped vectors", [&] { copy.assign(first, last); }));
  vectors_.swap(copy);
  mapped_ = nullptr;
  mapping_.reset();
  return absl::OkStatus();
}

absl::Status FlatIndex::Add(MatrixView<const float> vectors,
                            absl::Span<const int64_t> ids, Executor* executor) {
  return internal::GuardedCall(this, "Add",
                               [&] { return AddImpl(vectors, ids, executor); });
}

absl::Status FlatIndex::AddImpl(MatrixView<const float> vectors,
                                absl::Span<const int64_t> ids, Executor*) {
  VINDEX_ASSIGN_OR_RETURN(
      internal::NewRows rows,
      internal::PrepareNewRows(vectors, ids, options_.dim, options_.metric));
  internal::WriterLock lock(mu_);
  VINDEX_RETURN_IF_ERROR(internal::CheckIdsAbsent(row_of_, ids));
  VINDEX_RETURN_IF_ERROR(MaterializeLocked());
  const size_t old_rows = ids_.size();
  constexpr absl::string_view kGrowing = "growing the index";
  VINDEX_RETURN_IF_ERROR(internal::TryReserve(
      vectors_, vectors_.size() + rows.vectors.size(), kGrowing));
  VINDEX_RETURN_IF_ERROR(internal::TryReserve(
      sq_norms_, sq_norms_.size() + rows.sq_norms.size(), kGrowing));
  VINDEX_RETURN_IF_ERROR(
      internal::TryReserve(ids_, ids_.size() + ids.size(), kGrowing));
  VINDEX_RETURN_IF_ERROR(
      row_of_.TryReserve(row_of_.size() + ids.size(), kGrowing));
  // Nothing below allocates, so the index cannot be left half-updated.
  vectors_.insert(vectors_.end(), rows.vectors.begin(), rows.vectors.end());
  sq_norms_.insert(sq_norms_.end(), rows.sq_norms.begin(), rows.sq_norms.end());
  for (size_t i = 0; i < ids.size(); ++i) {
    ids_.push_back(ids[i]);
    row_of_.Insert(ids[i], static_cast<int64_t>(old_rows + i));
  }
  return absl::OkStatus();
}

absl::Status FlatIndex::Search(MatrixView<const float> queries,
                               const SearchParams& params, SearchOutput out,
                               Executor* executor) const {
  return internal::GuardedCall(this, "Search", [&] {
    return SearchImpl(queries, params, out, executor);
  });
}

absl::Status FlatIndex::SearchImpl(MatrixView<const float> queries,
                                   const SearchParams& params, SearchOutput out,
                                   Executor* executor) const {
  VINDEX_RETURN_IF_ERROR(
      internal::CheckSearch(queries, params, out, options_.dim));
  const Metric metric = options_.metric;
  std::vector<float> normalized;
  if (metric == Metric::kCosine) {
    VINDEX_RETURN_IF_ERROR(
        internal::CopyRows(queries, true, &normalized, "query"));
    queries =
        MatrixView<const float>(normalized.data(), queries.rows, queries.cols);
  }
  internal::ReaderLock lock(mu_);
  internal::RowMask mask;
  VINDEX_RETURN_IF_ERROR(
      internal::FilterMaskForSearch(params.filter, ids_, row_of_, &mask));
  internal::SearchDenseRows(
      data(), sq_norms_.data(), ids_, options_.dim, metric,
      params.filter != nullptr ? &mask : nullptr, queries, params.k, out,
      executor, metric == Metric::kCosine && leading_axes_first_, force_gemm_);
  for (int64_t i = 0; i < queries.rows; ++i) {
    internal::ResultsToNatural(metric, out.ids.row(i), out.distances.row(i),
                               params.k);
  }
  return absl::OkStatus();
}

absl::Status FlatIndex::Remove(absl::Span<const int64_t> ids) {
  return internal::GuardedCall(this, "Remove", [&] { return RemoveImpl(ids); });
}

absl::Status FlatIndex::RemoveImpl(absl::Span<const int64_t> ids) {
  VINDEX_RETURN_IF_ERROR(internal::CheckNoRepeats(ids, "Remove"));
  internal::WriterLock lock(mu_);
  VINDEX_RETURN_IF_ERROR(internal::CheckIdsPresent(row_of_, ids));
  VINDEX_RETURN_IF_ERROR(MaterializeLocked());
  const int64_t d = options_.dim;
  float* vectors = vectors_.data();
  float* norms = sq_norms_.data();
  internal::CompactRemoving(ids, ids_, row_of_, [&](int64_t to, int64_t from) {
    std::memcpy(vectors + to * d, vectors + from * d, d * sizeof(float));
    norms[to] = norms[from];
  });
  vectors_.resize(ids_.size() * d);
  sq_norms_.resize(ids_.size());
  if (vectors_.capacity() > 2 * vectors_.size() + 4096) {
    vectors_.shrink_to_fit();
    sq_norms_.shrink_to_fit();
    ids_.shrink_to_fit();
  }
  return absl::OkStatus();
}

absl::Status FlatIndex::GetVectors(absl::Span<const int64_t> ids,
                                   MatrixView<float> out) const {
  return internal::GuardedCall(this, "GetVectors",
                               [&] { return GetVectorsImpl(ids, out); });
}

absl::Status FlatIndex::GetVectorsImpl(absl::Span<const int64_t> ids,
                                       MatrixView<float> out) const {
  VINDEX_RETURN_IF_ERROR(internal::CheckVectorsOutput(ids, out, options_.dim));
  internal::ReaderLock lock(mu_);
  VINDEX_RETURN_IF_ERROR(internal::CheckIdsPresent(row_of_, ids));
  internal::CopyRowsOut(row_of_, data(), options_.dim, ids, out);
  return absl::OkStatus();
}

absl::Status FlatIndex::Save(Writer& writer) const {
  return internal::GuardedCall(this, "Save", [&] { return SaveImpl(writer); });
}

absl::Status FlatIndex::SaveImpl(Writer& writer) const {
  internal::ReaderLock lock(mu_);
  return internal::SaveFlat(writer, options_.dim, options_.metric, ids_,
                            data());
}

absl::StatusOr<std::unique_ptr<Index>> FlatIndex::Load(
    const io::FileHeader& header, io::ContainerReader& reader) {
  FlatOptions o;
  o.dim = static_cast<int>(header.dim);
  o.metric = header.metric;
  VINDEX_ASSIGN_OR_RETURN(std::unique_ptr<FlatIndex> index, Create(o));
  // Uncontended (no one else holds the index yet); it lets the analysis
  // check the fields below like everywhere else.
  internal::WriterLock lock(index->mu_);
  const uint64_t n = header.count;
  const uint64_t d = header.dim;

  VINDEX_ASSIGN_OR_RETURN(
      uint64_t ids_bytes,
      reader.BeginArraySection(io::kTagIds, n, sizeof(int64_t)));
  // BeginSection has checked ids_bytes against the bytes remaining, so this
  // allocation is bounded by the input's size.
  index->ids_.resize(n);
  VINDEX_RETURN_IF_ERROR(reader.ReadPayload(index->ids_.data(), ids_bytes));
  VINDEX_RETURN_IF_ERROR(reader.EndSection());

  VINDEX_ASSIGN_OR_RETURN(
      uint64_t vec_bytes,
      reader.BeginArraySection(io::kTagVectors, n, d * sizeof(float)));
  // Served from the reader's memory when it can lend it (a file mapping) and
  // the floats are aligned there; copied otherwise.
  const char* view = nullptr;
  std::shared_ptr<const void> owner;
  VINDEX_RETURN_IF_ERROR(reader.ViewPayload(vec_bytes, &view, &owner));
  if (view != nullptr &&
      reinterpret_cast<uintptr_t>(view) % alignof(float) == 0) {
    index->mapped_ = reinterpret_cast<const float*>(view);
    index->mapping_ = std::move(owner);
  } else if (view != nullptr) {
    index->vectors_.resize(n * d);
    std::memcpy(index->vectors_.data(), view, vec_bytes);
  } else {
    index->vectors_.resize(n * d);
    VINDEX_RETURN_IF_ERROR(
        reader.ReadPayload(index->vectors_.data(), vec_bytes));
  }
  VINDEX_RETURN_IF_ERROR(reader.EndSection());
  VINDEX_RETURN_IF_ERROR(reader.ReadEnd());

  index->row_of_ = internal::IdMap<int64_t>::SizedFor(n);
  for (uint64_t r = 0; r < n; ++r) {
    const int64_t id = index->ids_[r];
    if (id == -1 || !index->row_of_.Insert(id, static_cast<int64_t>(r))) {
      return absl::DataLossError(
          absl::StrCat("ids section has invalid or repeated id ", id));
    }
  }
  const float* vecs = index->data();
  for (uint64_t i = 0; i < n * d; ++i) {
    if (!std::isfinite(vecs[i])) {
      return absl::DataLossError("vectors section has a non-finite value");
    }
  }
  index->sq_norms_.resize(n);
  linalg::RowSquaredNorms(vecs, n, d, d, index->sq_norms_.data());
  return std::unique_ptr<Index>(std::move(index));
}

}  // namespace vindex
