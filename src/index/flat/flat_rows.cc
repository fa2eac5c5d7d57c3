#include "index/flat/flat_rows.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/allocation.h"
#include "core/metric_space.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "io/format.h"
#include "linalg/gemm.h"

namespace vindex::internal {

Capabilities FlatCapabilities() {
  return Capabilities{.needs_training = false,
                      .remove = true,
                      .get_vectors = true,
                      .filter = true,
                      .add_during_search = true};
}

absl::StatusOr<NewRows> PrepareNewRows(MatrixView<const float> vectors,
                                       absl::Span<const int64_t> ids, int dim,
                                       Metric metric) {
  VINDEX_RETURN_IF_ERROR(CheckMatrix(vectors, dim, "vector"));
  VINDEX_RETURN_IF_ERROR(CheckNewIds(ids, vectors.rows));
  NewRows rows;
  VINDEX_RETURN_IF_ERROR(TryAllocate("copying vectors", [&] {
    rows.sq_norms.resize(vectors.rows);
    return CopyRows(vectors, metric == Metric::kCosine, &rows.vectors,
                    "vector");
  }));
  linalg::RowSquaredNorms(rows.vectors.data(), vectors.rows, dim, dim,
                          rows.sq_norms.data());
  return rows;
}

absl::Status CheckIdsAbsent(const IdMap<int64_t>& row_of,
                            absl::Span<const int64_t> ids) {
  for (int64_t id : ids) {
    if (row_of.Contains(id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("id ", id, " is already in the index"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckIdsPresent(const IdMap<int64_t>& row_of,
                             absl::Span<const int64_t> ids) {
  for (int64_t id : ids) {
    if (!row_of.Contains(id)) {
      return absl::NotFoundError(
          absl::StrCat("id ", id, " is not in the index"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckVectorsOutput(absl::Span<const int64_t> ids,
                                const MatrixView<float>& out, int dim) {
  if (out.rows != static_cast<int64_t>(ids.size()) || out.cols != dim ||
      (out.data == nullptr && !ids.empty()) || out.row_stride() < out.cols) {
    return absl::InvalidArgumentError(
        absl::StrCat("GetVectors output must be ", ids.size(), " x ", dim));
  }
  return absl::OkStatus();
}

void CopyRowsOut(const IdMap<int64_t>& row_of, const float* vectors, int dim,
                 absl::Span<const int64_t> ids, MatrixView<float> out) {
  const int64_t d = dim;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t row = *row_of.Find(ids[i]);
    std::memcpy(out.row(i), vectors + row * d, d * sizeof(float));
  }
}

absl::Status SaveFlat(Writer& writer, int dim, Metric metric,
                      absl::Span<const int64_t> ids, const float* vectors) {
  io::ContainerWriter w(writer);
  io::FileHeader h;
  h.family = IndexFamily::kFlat;
  h.dim = static_cast<uint32_t>(dim);
  h.metric = metric;
  h.count = ids.size();
  VINDEX_RETURN_IF_ERROR(w.WriteHeader(h));
  VINDEX_RETURN_IF_ERROR(
      w.BeginSection(io::kTagIds, ids.size() * sizeof(int64_t)));
  VINDEX_RETURN_IF_ERROR(
      w.WritePayload(ids.data(), ids.size() * sizeof(int64_t)));
  VINDEX_RETURN_IF_ERROR(w.EndSection());
  const size_t vec_bytes = ids.size() * dim * sizeof(float);
  VINDEX_RETURN_IF_ERROR(w.BeginSection(io::kTagVectors, vec_bytes));
  VINDEX_RETURN_IF_ERROR(w.WritePayload(vectors, vec_bytes));
  VINDEX_RETURN_IF_ERROR(w.EndSection());
  return w.Finish();
}

}  // namespace vindex::internal
