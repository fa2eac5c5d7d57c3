#include "core/validate.h"

#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/allocation.h"

namespace vindex::internal {

absl::Status CheckMatrix(MatrixView<const float> m, int dim,
                         absl::string_view what, bool allow_empty) {
  if (m.rows < 0 || m.cols < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " matrix has negative shape"));
  }
  if (m.rows == 0) {
    if (allow_empty) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("empty ", what, " batch"));
  }
  if (m.cols != dim) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " dim ", m.cols, " != index dim ", dim));
  }
  if (m.data == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, " data is null"));
  }
  if (m.row_stride() < m.cols) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " stride ", m.row_stride(), " < dim ", m.cols));
  }
  for (int64_t i = 0; i < m.rows; ++i) {
    const float* row = m.row(i);
    for (int64_t j = 0; j < m.cols; ++j) {
      if (!std::isfinite(row[j])) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, " ", i, " has a non-finite value (", row[j],
                         ") at column ", j));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckNewIds(absl::Span<const int64_t> ids, int64_t rows) {
  if (static_cast<int64_t>(ids.size()) != rows) {
    return absl::InvalidArgumentError(
        absl::StrCat(ids.size(), " ids for ", rows, " vectors"));
  }
  // Sized by its constructor: reserve() is unsafe under bad_alloc
  // (core/allocation.h).
  absl::flat_hash_set<int64_t> seen(internal::TableBucketsFor(ids.size()));
  for (int64_t id : ids) {
    if (id == -1) {
      return absl::InvalidArgumentError(
          "id -1 is reserved for missing results");
    }
    if (!seen.insert(id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate id ", id, " in batch"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSearch(MatrixView<const float> queries,
                         const SearchParams& params, const SearchOutput& out,
                         int dim) {
  if (params.k <= 0 || params.k > SearchParams::kMaxK) {
    return absl::InvalidArgumentError(absl::StrCat(
        "k must be in [1, ", SearchParams::kMaxK, "], got ", params.k));
  }
  if (params.nprobe < 0 || params.ef < 0 ||
      (params.rerank_factor < 0 &&
       params.rerank_factor != SearchParams::kNoRerank)) {
    return absl::InvalidArgumentError(
        "nprobe and ef must be >= 0, rerank_factor >= 0 or "
        "SearchParams::kNoRerank");
  }
  if (auto s = CheckMatrix(queries, dim, "query"); !s.ok()) return s;
  const int64_t k = params.k;
  if (out.ids.data == nullptr || out.distances.data == nullptr) {
    return absl::InvalidArgumentError("search output is null");
  }
  if (out.ids.rows != queries.rows || out.distances.rows != queries.rows) {
    return absl::InvalidArgumentError(absl::StrCat(
        "search output has ", out.ids.rows, "/", out.distances.rows,
        " rows for ", queries.rows, " queries"));
  }
  if (out.ids.cols < k || out.distances.cols < k) {
    return absl::InvalidArgumentError(
        absl::StrCat("search output has ", out.ids.cols, "/",
                     out.distances.cols, " columns for k = ", k));
  }
  if (out.ids.row_stride() < out.ids.cols ||
      out.distances.row_stride() < out.distances.cols) {
    return absl::InvalidArgumentError("search output stride < cols");
  }
  return absl::OkStatus();
}

absl::Status CheckNoRepeats(absl::Span<const int64_t> ids,
                            absl::string_view what) {
  absl::flat_hash_set<int64_t> seen(internal::TableBucketsFor(ids.size()));
  for (int64_t id : ids) {
    if (!seen.insert(id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("id ", id, " repeated in ", what));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckDimMetric(int dim, Metric metric) {
  if (dim <= 0 || dim > (1 << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dim must be in [1, 2^20], got ", dim));
  }
  if (metric != Metric::kL2 && metric != Metric::kInnerProduct &&
      metric != Metric::kCosine) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown metric ", static_cast<uint32_t>(metric)));
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

}  // namespace vindex::internal
