#ifndef VINDEX_SRC_INDEX_BRUTE_FORCE_H_
#define VINDEX_SRC_INDEX_BRUTE_FORCE_H_

// Exact k-nearest-neighbour search of a batch of queries against a matrix of
// rows. Small batches scan with the SIMD one-query-against-rows kernels;
// batches of at least kGemmMinQueries go through the GEMM wrapper over query
// tile x row tile, with k-selection fused per tile (the full nq x n distance
// matrix is never materialised). Used by FlatIndex, IVF coarse assignment,
// k-means and tests.

#include <cstdint>

#include "core/row_mask.h"
#include "vindex/executor.h"
#include "vindex/matrix_view.h"

namespace vindex::internal {

class HeadCodec;

// The internal score: smaller is closer.
enum class Score { kL2, kNegativeInnerProduct };

// GEMM pays off from this many queries per thread (below it the per-query
// SIMD scan wins). A batch uses GEMM when every thread gets at least this
// many queries, and tiles never go below it. Measured by bench/kernels_bench
// BM_BruteForce (figures: docs/decisions.md, "Core").
inline constexpr int64_t kGemmMinQueries = 4;
// GEMM tile shape (queries x rows): the C tile of distances stays in L2
// while k-selection reads it.
inline constexpr int64_t kGemmQueryTile = 128;
inline constexpr int64_t kGemmRowTile = 1024;

struct BruteForceRows {
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t stride = 0;               // In floats, >= dim.
  const float* sq_norms = nullptr;  // ||row||^2 per row; needed for kL2 GEMM.
  const int64_t* ids = nullptr;     // Reported id per row; null = row index.
  const RowMask* mask = nullptr;    // Allowed rows; null = all.
  // The largest ||row||^2, or < 0 if unknown. When known, one-query
  // inner-product scans of long rows screen them with the squared-L2 early
  // exit (index/ip_screen.h).
  float max_sq_norm = -1.0f;
  // Re-score the rows the scan or GEMM path selected with the one-pair
  // kernel (KernelTable::l2_sqr, inner_product), so that a row's distance
  // does not depend on its position, the batch or the path (the GEMM's
  // rounding varies with a row's place in the tile on some BLAS kernels).
  bool rescore = false;
  // The rows' coded heads (kernels::kCodedHeadDim codes per row, at
  // head_codes + row * kCodedHeadDim, and head_slack[row], coded by
  // head_codec), or all three null. With them one-query scans of L2 rows,
  // and screened inner-product scans, read a row only when its head cannot
  // rule it out (kernels::CodedHeads); the results are the same.
  const HeadCodec* head_codec = nullptr;
  const uint8_t* head_codes = nullptr;
  const float* head_slack = nullptr;
};

struct BruteForceOutput {
  int64_t* ids;  // queries.rows x k, row stride ids_stride.
  int64_t ids_stride;
  float* scores;  // Internal scores (smaller is closer).
  int64_t scores_stride;
};

// For every query, writes its k best rows, closest first (ties: smaller id),
// padded with id -1 and +inf. `force_gemm` < 0 chooses by batch size and
// thread count; 0
// forces the scan path and 1 the GEMM path (tests and benches).
void BruteForceKnn(const BruteForceRows& rows, Score score,
                   MatrixView<const float> queries, int k, BruteForceOutput out,
                   Executor* executor, int force_gemm = -1);

}  // namespace vindex::internal

#endif  // VINDEX_SRC_INDEX_BRUTE_FORCE_H_
