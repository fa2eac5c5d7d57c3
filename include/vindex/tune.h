#ifndef VINDEX_TUNE_H_
#define VINDEX_TUNE_H_

// Auto-tuning of search knobs: finds the cheapest SearchParams (nprobe for
// IVF, ef for HNSW, and rerank_factor for IVF-PQ built with ",Rerank") that
// reach a target recall@k on a sample of queries, measuring recall against
// exact neighbours and speed on the caller's executor.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "vindex/executor.h"
#include "vindex/index.h"
#include "vindex/matrix_view.h"

namespace vindex {

struct TuneOptions {
  int k = 10;                   // Results per query; recall is recall@k.
  double target_recall = 0.95;  // Mean recall@k to reach, in (0, 1].
  // The true neighbours of each sample query, best first: queries.rows rows
  // of at least k ids. When empty, they are computed exactly from `base`.
  MatrixView<const int64_t> groundtruth;
  // The vectors the index holds, with their ids (empty ids = 0..rows-1);
  // used only when `groundtruth` is empty.
  MatrixView<const float> base;
  absl::Span<const int64_t> base_ids;
  // Largest knob value tried (0 = nlist for nprobe, 4096 for ef).
  int max_knob = 0;
  // Each point is searched repeatedly until this much time has passed, for
  // a steadier speed measurement.
  double min_seconds_per_point = 0.05;
};

// One setting tried.
struct TunePoint {
  SearchParams params;  // k and the knobs (no filter).
  double recall = 0;    // Mean recall@k on the sample.
  double qps = 0;       // Queries per second, batch search on the executor.
};

struct TuneResult {
  // The cheapest setting reaching the target; when none did, the setting with
  // the highest recall (and reached is false).
  TunePoint best;
  bool reached = false;
  std::vector<TunePoint> tried;  // In the order they were measured.
};

// Tunes the knobs of `index` on `queries` (a sample of real queries). The
// search is monotone: each knob is doubled until the target is reached and
// then bisected down to the smallest value reaching it (doubling stops early
// when recall plateaus below the target); for IVF-PQ with re-rank the factors
// 16, 8, 4, 2, 1 each get their smallest nprobe (until one cannot reach the
// target) and the fastest of those wins. Indexes without knobs (Flat) report
// one point. Errors: InvalidArgument for bad options or shapes, and any error
// of the searches.
absl::StatusOr<TuneResult> Tune(const Index& index,
                                MatrixView<const float> queries,
                                const TuneOptions& options,
                                Executor* executor = nullptr);

// The exact k nearest `base` rows of every query (ids from `base_ids`, or
// 0..rows-1 when empty), through a Flat index: queries.rows x k ids.
absl::StatusOr<Matrix<int64_t>> ExactNeighbors(
    MatrixView<const float> base, absl::Span<const int64_t> base_ids,
    MatrixView<const float> queries, int k, Metric metric,
    Executor* executor = nullptr);

// Mean over rows of |found[i][0..k) ∩ truth[i][0..k)| / k. Both need at
// least k columns and the same number of rows; ids -1 in truth are ignored.
double RecallAtK(MatrixView<const int64_t> truth,
                 MatrixView<const int64_t> found, int k);

// The knobs that matter for this index, e.g. "nprobe=16 rerank=4", "ef=80"
// or "-" for none; a knob left at 0 shows as "default".
std::string KnobsString(const Index& index, const SearchParams& params);

}  // namespace vindex

#endif  // VINDEX_TUNE_H_
