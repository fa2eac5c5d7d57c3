#ifndef VINDEX_SRC_INDEX_FLAT_FLAT_ROWS_H_
#define VINDEX_SRC_INDEX_FLAT_FLAT_ROWS_H_

// What the CPU and GPU Flat indexes share about their host rows: preparing
// rows to add, checking ids against the id map, copying rows out, the
// compaction that Remove performs, and the Flat file format.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/id_map.h"
#include "vindex/index.h"
#include "vindex/io.h"

namespace vindex::internal {

// The operations Flat supports, on either device.
Capabilities FlatCapabilities();

// Rows about to be added: copied (normalised for cosine) with their squared
// norms.
struct NewRows {
  std::vector<float> vectors;  // rows * dim floats
  std::vector<float> sq_norms;
};

// Checks `vectors` and `ids` (as CheckMatrix and CheckNewIds) and prepares
// them; ResourceExhausted when the copy cannot be allocated.
absl::StatusOr<NewRows> PrepareNewRows(MatrixView<const float> vectors,
                                       absl::Span<const int64_t> ids, int dim,
                                       Metric metric);

// InvalidArgument naming the first id of `ids` already in `row_of`.
absl::Status CheckIdsAbsent(const IdMap<int64_t>& row_of,
                            absl::Span<const int64_t> ids);
// NotFound naming the first id of `ids` not in `row_of`.
absl::Status CheckIdsPresent(const IdMap<int64_t>& row_of,
                             absl::Span<const int64_t> ids);

// Checks that `out` has one row of `dim` floats per id.
absl::Status CheckVectorsOutput(absl::Span<const int64_t> ids,
                                const MatrixView<float>& out, int dim);
// Copies the row of each id (all present in row_of) from `vectors` (dense,
// dim floats a row) into out.
void CopyRowsOut(const IdMap<int64_t>& row_of, const float* vectors, int dim,
                 absl::Span<const int64_t> ids, MatrixView<float> out);

// Removes `ids` (all present in row_of, none repeated) from `row_ids` and
// `row_of` by moving the last row into each hole, in the order of `ids`;
// calls move_row(to, from) for each such move, for the caller to do the same
// to its other per-row arrays in the same order before truncating them to
// row_ids.size(). Allocates nothing.
template <typename MoveRow>
void CompactRemoving(absl::Span<const int64_t> ids,
                     std::vector<int64_t>& row_ids, IdMap<int64_t>& row_of,
                     MoveRow&& move_row) {
  for (int64_t id : ids) {
    const int64_t row = *row_of.Find(id);
    row_of.Erase(id);
    const int64_t last = static_cast<int64_t>(row_ids.size()) - 1;
    if (row != last) {
      move_row(row, last);
      row_ids[row] = row_ids[last];
      row_of.Update(row_ids[row], row);
    }
    row_ids.pop_back();
  }
}

// Writes the Flat file (see io/format.h): the ids, then the dense rows.
absl::Status SaveFlat(Writer& writer, int dim, Metric metric,
                      absl::Span<const int64_t> ids, const float* vectors);

}  // namespace vindex::internal

#endif  // VINDEX_SRC_INDEX_FLAT_FLAT_ROWS_H_
