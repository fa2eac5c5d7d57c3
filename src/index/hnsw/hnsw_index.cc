// HnswIndex's public face: creation, the public calls (each guarded, then
// delegated to its ...Impl), info, GetVectors and the test hooks.
#include "index/hnsw/hnsw_index.h"

#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "core/call_guard.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "index/hnsw/scratch.h"
#include "index/hnsw/storage.h"
#include "kernels/sq_kernels.h"

namespace vindex {

using hnsw::kMaxAlpha;
using hnsw::kMaxEf;
using hnsw::kMaxM;
using hnsw::RoundUp;

absl::StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::Create(
    const HnswOptions& options) {
  VINDEX_RETURN_IF_ERROR(internal::CheckDimMetric(options.dim, options.metric));
  if (options.device == Device::kGpu) {
    return absl::InvalidArgumentError("HnswIndex is a CPU index");
  }
  if (options.m < 2 || options.m > kMaxM) {
    return absl::InvalidArgumentError(
        absl::StrCat("HNSW m must be in [2, ", kMaxM, "], got ", options.m));
  }
  if (options.ef_construction < 1 || options.ef_construction > kMaxEf) {
    return absl::InvalidArgumentError(
        absl::StrCat("HNSW ef_construction must be in [1, ", kMaxEf, "], got ",
                     options.ef_construction));
  }
  if (options.default_ef < 1 || options.default_ef > kMaxEf) {
    return absl::InvalidArgumentError(
        absl::StrCat("HNSW default_ef must be in [1, ", kMaxEf, "], got ",
                     options.default_ef));
  }
  if (!(options.alpha >= 1.0f && options.alpha <= kMaxAlpha)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HNSW alpha must be in [1, ", kMaxAlpha, "], got ", options.alpha));
  }
  switch (options.traversal) {
    case HnswOptions::Traversal::kFloat:
      break;
    case HnswOptions::Traversal::kSq8:
    case HnswOptions::Traversal::kSq4:
      if (static_cast<size_t>(options.dim) > kernels::kSqMaxDim) {
        return absl::InvalidArgumentError(absl::StrCat(
            "HNSW SQ8 and SQ4 traversals need dim <= ", kernels::kSqMaxDim,
            ", got ", options.dim));
      }
      break;
    case HnswOptions::Traversal::kFp16:
      break;
    default:
      return absl::InvalidArgumentError("unknown HNSW traversal");
  }
  HnswOptions o = options;
  o.device = Device::kCpu;
  return std::unique_ptr<HnswIndex>(new HnswIndex(o));
}

absl::Status HnswIndex::Train(MatrixView<const float> samples,
                              Executor* executor) {
  return internal::GuardedCall(this, "Train",
                               [&] { return TrainImpl(samples, executor); });
}

absl::Status HnswIndex::Add(MatrixView<const float> vectors,
                            absl::Span<const int64_t> ids, Executor* executor) {
  return internal::GuardedCall(this, "Add",
                               [&] { return AddImpl(vectors, ids, executor); });
}

absl::Status HnswIndex::Search(MatrixView<const float> queries,
                               const SearchParams& params, SearchOutput out,
                               Executor* executor) const {
  return internal::GuardedCall(this, "Search", [&] {
    return SearchImpl(queries, params, out, executor);
  });
}

absl::Status HnswIndex::Remove(absl::Span<const int64_t> ids) {
  return internal::GuardedCall(this, "Remove", [&] { return RemoveImpl(ids); });
}

absl::Status HnswIndex::GetVectors(absl::Span<const int64_t> ids,
                                   MatrixView<float> out) const {
  return internal::GuardedCall(this, "GetVectors",
                               [&] { return GetVectorsImpl(ids, out); });
}

absl::Status HnswIndex::Save(Writer& writer) const {
  return internal::GuardedCall(this, "Save", [&] { return SaveImpl(writer); });
}

IndexInfo HnswIndex::info() const {
  internal::ReaderLock lock(mu_);
  IndexInfo info;
  info.family = IndexFamily::kHnsw;
  info.device = Device::kCpu;
  info.metric = options_.metric;
  info.dim = dim_;
  info.size = live_;
  info.trained = true;
  uint64_t bytes =
      RoundUp(size_t{capacity_} * block_bytes_, 64) +
      (full_view_ != nullptr ? size_t{num_slots_} * dim_ : 0) * sizeof(float) +
      full_.capacity() * sizeof(float) + ids_.capacity() * sizeof(int64_t) +
      levels_.capacity() + upper_.capacity() * sizeof(upper_[0]) +
      epochs_.capacity() * sizeof(uint32_t) + locks_.capacity() +
      parent_.capacity() * sizeof(uint32_t) +
      free_slots_.capacity() * sizeof(uint32_t) + row_of_.bytes() +
      upper_words_ * sizeof(uint32_t);
  info.memory_bytes = bytes;
  info.memory_mapped = mapping_ != nullptr;
  info.description = absl::StrCat(
      "HNSW", m_,
      !quantized_     ? ""
      : sq_bits_ == 8 ? ",SQ8"
      : sq_bits_ == 4 ? ",SQ4"
                      : ",FP16",
      options_.alpha == 1.0f ? "" : absl::StrCat(",alpha", options_.alpha));
  return info;
}

Capabilities HnswIndex::capabilities() const {
  return Capabilities{.needs_training = false,
                      .remove = true,
                      .get_vectors = true,
                      .filter = true,
                      .add_during_search = true};
}

absl::Status HnswIndex::GetVectorsImpl(absl::Span<const int64_t> ids,
                                       MatrixView<float> out) const {
  if (out.rows != static_cast<int64_t>(ids.size()) || out.cols != dim_ ||
      (out.data == nullptr && !ids.empty()) || out.row_stride() < out.cols) {
    return absl::InvalidArgumentError(
        absl::StrCat("GetVectors output must be ", ids.size(), " x ", dim_));
  }
  internal::ReaderLock lock(mu_);
  const uint32_t snapshot = published_epoch_.load(std::memory_order_acquire);
  for (int64_t id : ids) {
    const uint32_t slot = row_of_.Find(id);
    if (slot == internal::IdSlotMap::kNotFound || epochs_[slot] > snapshot) {
      return absl::NotFoundError(
          absl::StrCat("id ", id, " is not in the index"));
    }
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint32_t slot = row_of_.Find(ids[i]);
    std::memcpy(out.row(i), FullVector(slot), dim_ * sizeof(float));
  }
  return absl::OkStatus();
}

void HnswIndex::set_epoch_for_testing(uint32_t epoch) {
  internal::WriterLock lock(mu_);
  published_epoch_.store(epoch);
  pending_epoch_ = epoch;
}

int64_t HnswIndex::slot_capacity_for_testing() const {
  internal::ReaderLock lock(mu_);
  return capacity_;
}

}  // namespace vindex
