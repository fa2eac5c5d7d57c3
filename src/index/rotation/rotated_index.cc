#include "index/rotation/rotated_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/allocation.h"
#include "core/call_guard.h"
#include "core/metric_space.h"
#include "core/parallel.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "index/leading_axes.h"
#include "linalg/gemm.h"
#include "train/pca_rotation.h"

namespace vindex {
namespace {

// Rows rotated per GEMM call (and per executor task).
constexpr int64_t kRotateBlockRows = 256;

// The rotation section's fixed fields: dim, trained, lead, pad bytes.
constexpr uint64_t kRotationFieldsBytes = 16;

// Pad bytes that make the inner container start at a file offset that is a
// multiple of 64, as if it were a file of its own (its aligned sections
// count offsets from its own start).
uint32_t PadBeforeInner(uint64_t factor_bytes) {
  const uint64_t used = io::kHeaderBytes + io::kSectionHeaderBytes +
                        kRotationFieldsBytes + factor_bytes + 4;
  return static_cast<uint32_t>((64 - used % 64) % 64);
}

}  // namespace

namespace internal {

absl::StatusOr<MatrixView<const float>> RotateInto(
    const train::PcaRotation& rotation, MatrixView<const float> x,
    std::vector<float>* storage, Executor* executor, absl::string_view what) {
  const int64_t dim = rotation.dim();
  VINDEX_RETURN_IF_ERROR(
      TryResize(*storage, x.rows * dim, absl::StrCat("rotating ", what)));
  float* y = storage->data();
  ParallelForRange(executor, x.rows, kRotateBlockRows,
                   [&](int64_t begin, int64_t end) {
                     rotation.Apply(x.row(begin), end - begin, x.row_stride(),
                                    y + begin * dim);
                   });
  return MatrixView<const float>(y, x.rows, dim);
}

}  // namespace internal

RotatedIndex::RotatedIndex(std::unique_ptr<Index> inner)
    : inner_(std::move(inner)),
      dim_(inner_->info().dim),
      metric_(inner_->info().metric) {
  if (auto* hinted = dynamic_cast<internal::LeadingAxesFirst*>(inner_.get())) {
    hinted->SetLeadingAxesFirst();
  }
}

absl::StatusOr<std::unique_ptr<RotatedIndex>> RotatedIndex::Create(
    std::unique_ptr<Index> inner) {
  if (inner == nullptr) {
    return absl::InvalidArgumentError("a rotation needs an inner index");
  }
  if (dynamic_cast<const RotatedIndex*>(inner.get()) != nullptr) {
    return absl::InvalidArgumentError(
        "a rotation cannot wrap another rotation (one is enough)");
  }
  if (inner->info().size != 0) {
    return absl::FailedPreconditionError(
        "the index behind a rotation must be empty");
  }
  return std::unique_ptr<RotatedIndex>(new RotatedIndex(std::move(inner)));
}

std::shared_ptr<const RotatedIndex::Rotation> RotatedIndex::CurrentRotation()
    const {
  internal::MutexLock lock(rotation_mu_);
  return rotation_;
}

std::vector<float> RotatedIndex::rotation() const {
  std::shared_ptr<const Rotation> r = CurrentRotation();
  return r == nullptr ? std::vector<float>() : r->Dense();
}

IndexInfo RotatedIndex::info() const {
  IndexInfo info = inner_->info();
  std::shared_ptr<const Rotation> r = CurrentRotation();
  info.trained = info.trained && r != nullptr;
  if (r != nullptr) info.memory_bytes += r->bytes();
  info.description = absl::StrCat("Rot,", info.description);
  return info;
}

Capabilities RotatedIndex::capabilities() const {
  Capabilities c = inner_->capabilities();
  c.needs_training = true;
  return c;
}

absl::Status RotatedIndex::Train(MatrixView<const float> samples,
                                 Executor* executor) {
  return internal::GuardedCall(this, "Train",
                               [&] { return TrainImpl(samples, executor); });
}

absl::Status RotatedIndex::TrainImpl(MatrixView<const float> samples,
                                     Executor* executor) {
  VINDEX_RETURN_IF_ERROR(
      internal::CheckMatrix(samples, dim_, "training vector"));
  internal::MutexLock lock(mutation_mu_);
  if (inner_->info().size > 0) {
    return absl::FailedPreconditionError(
        "cannot retrain an index that holds vectors");
  }
  // Cosine compares unit vectors, so their spread is what to learn.
  std::vector<float> normalized;
  VINDEX_ASSIGN_OR_RETURN(MatrixView<const float> learn_from,
                          internal::RowsForMetric(metric_, samples, &normalized,
                                                  "training vector"));
  VINDEX_ASSIGN_OR_RETURN(
      train::PcaRotation learned,
      train::PcaRotation::Learn(learn_from,
                                train::PcaRotation::DefaultLead(dim_)));
  auto rotation = std::make_shared<const Rotation>(std::move(learned));
  std::vector<float> rotated;
  VINDEX_ASSIGN_OR_RETURN(
      MatrixView<const float> rows,
      internal::RotateInto(*rotation, samples, &rotated, executor, "samples"));
  VINDEX_RETURN_IF_ERROR(inner_->Train(rows, executor));
  internal::MutexLock publish(rotation_mu_);
  rotation_ = std::move(rotation);
  return absl::OkStatus();
}

absl::Status RotatedIndex::Add(MatrixView<const float> vectors,
                               absl::Span<const int64_t> ids,
                               Executor* executor) {
  return internal::GuardedCall(this, "Add",
                               [&] { return AddImpl(vectors, ids, executor); });
}

absl::Status RotatedIndex::AddImpl(MatrixView<const float> vectors,
                                   absl::Span<const int64_t> ids,
                                   Executor* executor) {
  // Before rotating: a NaN would spread over its whole rotated row.
  VINDEX_RETURN_IF_ERROR(internal::CheckMatrix(vectors, dim_, "vector"));
  VINDEX_RETURN_IF_ERROR(internal::CheckNewIds(ids, vectors.rows));
  internal::MutexLock lock(mutation_mu_);
  std::shared_ptr<const Rotation> rotation = CurrentRotation();
  if (rotation == nullptr) {
    return absl::FailedPreconditionError("Add before Train");
  }
  std::vector<float> rotated;
  VINDEX_ASSIGN_OR_RETURN(
      MatrixView<const float> rows,
      internal::RotateInto(*rotation, vectors, &rotated, executor, "vectors"));
  return inner_->Add(rows, ids, executor);
}

absl::Status RotatedIndex::Search(MatrixView<const float> queries,
                                  const SearchParams& params, SearchOutput out,
                                  Executor* executor) const {
  return internal::GuardedCall(this, "Search", [&] {
    return SearchImpl(queries, params, out, executor);
  });
}

absl::Status RotatedIndex::SearchImpl(MatrixView<const float> queries,
                                      const SearchParams& params,
                                      SearchOutput out,
                                      Executor* executor) const {
  VINDEX_RETURN_IF_ERROR(internal::CheckSearch(queries, params, out, dim_));
  std::shared_ptr<const Rotation> rotation = CurrentRotation();
  // Untrained: the inner index is empty, and answers (or refuses) as such.
  if (rotation == nullptr) {
    return inner_->Search(queries, params, out, executor);
  }
  std::vector<float> rotated;
  VINDEX_ASSIGN_OR_RETURN(
      MatrixView<const float> rows,
      internal::RotateInto(*rotation, queries, &rotated, executor, "queries"));
  return inner_->Search(rows, params, out, executor);
}

absl::Status RotatedIndex::Remove(absl::Span<const int64_t> ids) {
  return internal::GuardedCall(this, "Remove", [&] {
    internal::MutexLock lock(mutation_mu_);
    return inner_->Remove(ids);
  });
}

absl::Status RotatedIndex::GetVectors(absl::Span<const int64_t> ids,
                                      MatrixView<float> out) const {
  return internal::GuardedCall(this, "GetVectors", [&]() -> absl::Status {
    VINDEX_RETURN_IF_ERROR(internal::CheckVectorsOutput(ids, out, dim_));
    std::shared_ptr<const Rotation> rotation = CurrentRotation();
    if (rotation == nullptr) return inner_->GetVectors(ids, out);
    const int64_t n = static_cast<int64_t>(ids.size());
    std::vector<float> stored;
    VINDEX_RETURN_IF_ERROR(
        internal::TryResize(stored, n * dim_ + 1, "reading vectors"));
    VINDEX_RETURN_IF_ERROR(
        inner_->GetVectors(ids, MatrixView<float>(stored.data(), n, dim_)));
    rotation->ApplyInverse(stored.data(), n, out.data, out.row_stride());
    return absl::OkStatus();
  });
}

absl::Status RotatedIndex::Save(Writer& writer) const {
  return internal::GuardedCall(this, "Save", [&] { return SaveImpl(writer); });
}

// Layout (see io/format.h): header (family kRotated), one kTagRotation
// section, then the inner index's own container to the end of the file.
//   dim      u32
//   trained  u32  0 or 1
//   lead     u32  reflections (0 when untrained)
//   pad      u32  bytes of zeros before the factors (< 64)
//   pad bytes, then (if trained) taus: lead floats, and the reflectors:
//   lead x dim floats, row-major (see train::PcaRotation)
absl::Status RotatedIndex::SaveImpl(Writer& writer) const {
  internal::MutexLock lock(mutation_mu_);
  std::shared_ptr<const Rotation> rotation = CurrentRotation();
  const IndexInfo inner = inner_->info();
  io::ContainerWriter container(writer);
  VINDEX_RETURN_IF_ERROR(container.WriteHeader(
      io::FileHeader{.family = IndexFamily::kRotated,
                     .dim = static_cast<uint32_t>(dim_),
                     .metric = metric_,
                     .count = static_cast<uint64_t>(inner.size)}));
  const uint32_t lead = rotation == nullptr ? 0 : rotation->lead();
  const uint64_t factor_bytes =
      uint64_t{lead} * (uint64_t(dim_) + 1) * sizeof(float);
  const uint32_t pad = PadBeforeInner(factor_bytes);
  io::ByteBuilder fields;
  fields.U32(static_cast<uint32_t>(dim_));
  fields.U32(rotation == nullptr ? 0 : 1);
  fields.U32(lead);
  fields.U32(pad);
  fields.Raw(std::string(pad, '\0').data(), pad);
  VINDEX_RETURN_IF_ERROR(container.BeginSection(
      io::kTagRotation, fields.bytes().size() + factor_bytes));
  VINDEX_RETURN_IF_ERROR(
      container.WritePayload(fields.bytes().data(), fields.bytes().size()));
  if (rotation != nullptr) {
    VINDEX_RETURN_IF_ERROR(container.WritePayload(
        rotation->taus().data(), rotation->taus().size() * sizeof(float)));
    VINDEX_RETURN_IF_ERROR(
        container.WritePayload(rotation->reflectors().data(),
                               rotation->reflectors().size() * sizeof(float)));
  }
  VINDEX_RETURN_IF_ERROR(container.EndSection());
  // The inner container ends with its own end marker and flush.
  return inner_->Save(writer);
}

absl::StatusOr<std::unique_ptr<Index>> RotatedIndex::Load(
    const io::FileHeader& header, io::ContainerReader& container,
    Reader& reader,
    absl::FunctionRef<absl::StatusOr<std::unique_ptr<Index>>(Reader&)>
        load_inner) {
  const uint64_t d = header.dim;  // In [1, 2^20]: checked with the header.
  const uint64_t max_length =
      kRotationFieldsBytes + 63 + d * (d + 1) * sizeof(float);
  VINDEX_ASSIGN_OR_RETURN(std::string payload,
                          container.ReadSection(io::kTagRotation, max_length));
  io::ByteCursor cursor(payload, "rotation section");
  VINDEX_ASSIGN_OR_RETURN(uint32_t dim, cursor.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t trained, cursor.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t lead, cursor.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t pad, cursor.U32());
  if (dim != d || trained > 1 || pad >= 64 || lead > d ||
      (trained == 1) != (lead > 0)) {
    return absl::DataLossError(absl::StrCat(
        "rotation section: bad fields (dim ", dim, " of ", d, ", trained ",
        trained, ", lead ", lead, ", pad ", pad, ")"));
  }
  char pad_bytes[64];
  VINDEX_RETURN_IF_ERROR(cursor.Raw(pad_bytes, pad));
  std::shared_ptr<Rotation> rotation;
  if (trained == 1) {
    std::vector<float> taus(lead), reflectors(uint64_t{lead} * d);
    VINDEX_RETURN_IF_ERROR(
        cursor.Raw(taus.data(), taus.size() * sizeof(float)));
    VINDEX_RETURN_IF_ERROR(
        cursor.Raw(reflectors.data(), reflectors.size() * sizeof(float)));
    auto rebuilt = train::PcaRotation::FromReflectors(
        static_cast<int>(d), static_cast<int>(lead), std::move(reflectors),
        std::move(taus));
    if (!rebuilt.ok()) {
      return absl::DataLossError(
          absl::StrCat("rotation section: ", rebuilt.status().message()));
    }
    rotation = std::make_shared<Rotation>(std::move(*rebuilt));
  }
  VINDEX_RETURN_IF_ERROR(cursor.ExpectEnd());
  payload = std::string();  // Freed before the inner index is read.

  VINDEX_ASSIGN_OR_RETURN(std::unique_ptr<Index> inner, load_inner(reader));
  const IndexInfo inner_info = inner->info();
  if (inner_info.dim != static_cast<int>(d) ||
      inner_info.metric != header.metric ||
      static_cast<uint64_t>(inner_info.size) != header.count ||
      (trained == 0 && inner_info.size != 0)) {
    return absl::DataLossError(
        "the index behind the rotation does not match its header");
  }
  std::unique_ptr<RotatedIndex> index(new RotatedIndex(std::move(inner)));
  internal::MutexLock lock(index->rotation_mu_);
  index->rotation_ = std::move(rotation);
  return std::unique_ptr<Index>(std::move(index));
}

}  // namespace vindex
