// IVF-PQ exact re-rank: how many code-distance candidates a query keeps, and
// their re-scoring from the kept raw vectors.

#include <algorithm>
#include <cstdint>

#include "core/list_location.h"
#include "core/prefetch.h"
#include "core/topk.h"
#include "index/ivf/ivf_pq_index.h"
#include "kernels/kernels.h"

namespace vindex {

int IvfPqIndex::CandidateCount(const int64_t* probed_lists, int nprobe, int k,
                               int rerank_factor) const {
  if (rerank_factor <= 0) return k;
  // Never more candidates than the probed lists hold (and no overflow).
  int64_t probed = 0;
  for (int p = 0; p < nprobe; ++p) {
    if (probed_lists[p] >= 0) probed += lists().list_size(probed_lists[p]);
  }
  return static_cast<int>(std::max<int64_t>(
      k, std::min<int64_t>(int64_t{k} * rerank_factor, probed)));
}

void IvfPqIndex::FinishQuery(const float* query, internal::TopK& top, int kk,
                             int k, bool rerank, int64_t* out_ids,
                             float* out_scores, Scratch& sc) const {
  if (!rerank) {
    top.Finish(out_ids, out_scores);
    return;
  }
  const kernels::KernelTable& kt = kernels::Active();
  const int64_t d = options_.ivf.dim;
  const bool l2 = options_.ivf.metric == Metric::kL2;
  // Exact re-rank of the kk best candidates from the kept vectors.
  sc.cand_ids.resize(kk);
  const int valid = static_cast<int>(top.TakeIds(sc.cand_ids.data()));
  // The candidates' rows are scattered: request them a window of about
  // 8 KiB ahead of the scoring loop, so the memory misses overlap (window
  // chosen with ann_bench; docs/decisions.md, IVF).
  auto row_of = [&](int i) {
    const auto at = internal::ListLocation::Unpack(sc.cand_ids[i]);
    return lists().vectors(at.list) + int64_t{at.offset} * d;
  };
  const size_t row_bytes = d * sizeof(float);
  auto prefetch = [&](int i) {
    const char* r = reinterpret_cast<const char*>(row_of(i));
    internal::PrefetchRange(r, row_bytes);
  };
  const int kPrefetchAhead = std::max<int>(2, 8192 / int(row_bytes));
  for (int i = 0; i < std::min(valid, kPrefetchAhead); ++i) prefetch(i);
  internal::TopK final_top(k);
  for (int i = 0; i < valid; ++i) {
    if (i + kPrefetchAhead < valid) prefetch(i + kPrefetchAhead);
    const auto at = internal::ListLocation::Unpack(sc.cand_ids[i]);
    const float* v = lists().vectors(at.list) + int64_t{at.offset} * d;
    const float s =
        l2 ? kt.l2_sqr(query, v, d) : -kt.inner_product(query, v, d);
    final_top.Push(s, lists().ids(at.list)[at.offset]);
  }
  final_top.Finish(out_ids, out_scores);
}

}  // namespace vindex
