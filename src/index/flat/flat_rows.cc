#include "index/flat/flat_rows.h"

#include <cstring>

#include "core/allocation.h"
#include "core/filter_plan.h"
#include "core/metric_space.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "index/brute_force.h"
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

IndexInfo FlatInfo(const FlatOptions& options, Device device, int64_t size) {
  IndexInfo info;
  info.family = IndexFamily::kFlat;
  info.device = device;
  info.metric = options.metric;
  info.dim = options.dim;
  info.size = size;
  info.trained = true;
  info.description = "Flat";
  return info;
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

absl::Status FilterMaskForSearch(const IdFilter* filter,
                                 absl::Span<const int64_t> row_ids,
                                 const IdMap<int64_t>& row_of, RowMask* mask) {
  if (filter == nullptr) return absl::OkStatus();
  if (row_ids.empty()) {
    return absl::FailedPreconditionError(
        "search with a filter on an empty index");
  }
  *mask = BuildRowMask(*filter, row_ids, row_of);
  return absl::OkStatus();
}

void SearchDenseRows(const float* vectors, const float* sq_norms,
                     absl::Span<const int64_t> row_ids, int dim, Metric metric,
                     const RowMask* mask, MatrixView<const float> queries,
                     int k, SearchOutput out, Executor* executor,
                     bool screen_unit_rows, int force_gemm) {
  BruteForceRows rows;
  rows.data = vectors;
  rows.rows = static_cast<int64_t>(row_ids.size());
  rows.dim = dim;
  rows.stride = dim;
  rows.sq_norms = sq_norms;
  rows.ids = row_ids.data();
  rows.mask = mask;
  rows.rescore = true;
  if (screen_unit_rows) rows.max_sq_norm = 1.0f;
  const Score score =
      metric == Metric::kL2 ? Score::kL2 : Score::kNegativeInnerProduct;
  BruteForceOutput bout{out.ids.data, out.ids.row_stride(), out.distances.data,
                        out.distances.row_stride()};
  BruteForceKnn(rows, score, queries, k, bout, executor, force_gemm);
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
