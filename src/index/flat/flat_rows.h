#ifndef VINDEX_SRC_INDEX_FLAT_FLAT_ROWS_H_
#define VINDEX_SRC_INDEX_FLAT_FLAT_ROWS_H_

// What the CPU and GPU Flat indexes share about their host rows: preparing
// rows to add, copying rows out, the compaction that Remove performs, and
// the Flat file format.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/id_map.h"
#include "core/row_mask.h"
#include "vindex/executor.h"
#include "vindex/filter.h"
#include "vindex/index.h"
#include "vindex/io.h"

namespace vindex::internal {

// The operations Flat supports, on either device.
Capabilities FlatCapabilities();

// What info() reports of a Flat index of `size` rows on `device`, less
// memory_bytes and memory_mapped (which the caller knows).
IndexInfo FlatInfo(const FlatOptions& options, Device device, int64_t size);

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

// The mask of what `filter` allows over the rows (left empty when filter is
// null); FailedPrecondition for a filter on an empty index.
absl::Status FilterMaskForSearch(const IdFilter* filter,
                                 absl::Span<const int64_t> row_ids,
                                 const IdMap<int64_t>& row_of, RowMask* mask);

// Exact k-NN of `queries` (already normalised for cosine) over dense rows
// (dim floats a row, with their squared norms and ids), restricted to `mask`
// when not null. Writes internal scores (smaller is closer) into out;
// force_gemm as for BruteForceKnn. screen_unit_rows: the rows are cosine's
// unit vectors with their leading axes first, so one-query scans screen them
// (index/ip_screen.h).
void SearchDenseRows(const float* vectors, const float* sq_norms,
                     absl::Span<const int64_t> row_ids, int dim, Metric metric,
                     const RowMask* mask, MatrixView<const float> queries,
                     int k, SearchOutput out, Executor* executor,
                     bool screen_unit_rows = false, int force_gemm = -1);

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
