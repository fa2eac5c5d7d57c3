#ifndef VINDEX_SRC_CORE_VALIDATE_H_
#define VINDEX_SRC_CORE_VALIDATE_H_

// Argument checks shared by every index family, so that the same bad input
// gets the same error everywhere. Each returns OK or InvalidArgument naming
// the problem (e.g. "query dim 96 != index dim 128").

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "vindex/index.h"

namespace vindex::internal {

// `what` names the matrix in messages ("vector", "query", "training vector").
// Checks: cols == dim, stride >= cols, data non-null when rows > 0, rows > 0
// unless allow_empty, and every value finite.
absl::Status CheckMatrix(MatrixView<const float> m, int dim,
                         absl::string_view what, bool allow_empty = false);

// Checks that ids has one entry per row, no id is -1 and none repeats.
absl::Status CheckNewIds(absl::Span<const int64_t> ids, int64_t rows);

// Checks queries (as CheckMatrix), 1 <= k <= SearchParams::kMaxK, and that
// out has queries.rows rows and at least k columns in both matrices.
absl::Status CheckSearch(MatrixView<const float> queries,
                         const SearchParams& params, const SearchOutput& out,
                         int dim);

// Checks that GetVectors' `out` has one row of `dim` floats per id.
absl::Status CheckVectorsOutput(absl::Span<const int64_t> ids,
                                const MatrixView<float>& out, int dim);

// Checks that a list of ids for Remove/GetVectors has no repeats.
absl::Status CheckNoRepeats(absl::Span<const int64_t> ids,
                            absl::string_view what);

// Checks an options struct's dim and metric.
absl::Status CheckDimMetric(int dim, Metric metric);

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_VALIDATE_H_
