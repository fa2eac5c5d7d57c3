// HNSW search: for each query, greedy descent to level 0, one base-layer
// search in the traversal's space, then exact re-ranking of quantized hits.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/metric_space.h"
#include "core/parallel.h"
#include "core/prefetch.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "index/hnsw/filter_plan.h"
#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/search_layer.h"
#include "index/hnsw/spaces.h"
#include "index/hnsw/storage.h"

namespace vindex {

template <typename Space>
void HnswIndex::SearchOne(const Space& space, const float* query, int k, int ef,
                          const IdFilter* filter, uint32_t snapshot, Scratch& s,
                          int64_t* out_ids, float* out_d) const {
  const hnsw::EntryPoint entry =
      hnsw::UnpackEntry(entry_.load(std::memory_order_acquire));
  float d = space.Dist(entry.slot);
  const uint32_t ep = GreedyDescend(space, entry.slot, &d, entry.level, 0);
  // With no Add in flight and no filter every reachable node is admitted
  // (free slots have no links to them), which spares a lookup per result.
  if (filter == nullptr && pending_epoch_ == snapshot) {
    SearchLayer(space, ep, d, 0, ef, AdmitAll{}, s);
  } else {
    SearchLayer(space, ep, d, 0, ef,
                AdmitVisible{epochs_.data(), snapshot, filter, ids_.data()}, s);
  }
  s.top.Reset(k);
  if (!quantized_) {
    for (const Candidate& c : s.results) s.top.Push(c.d, ids_[c.slot]);
  } else {
    // Re-rank exactly; the full vectors live apart from the walked codes,
    // so fetch a few ahead, at most their first kRerankPrefetchBytes: whole
    // long vectors four ahead overflow the core's outstanding misses and
    // stall on the prefetches (docs/decisions.md, HNSW).
    constexpr size_t kAhead = 4;
    constexpr size_t kRerankPrefetchBytes = 1024;
    const size_t bytes =
        std::min<size_t>(dim_ * sizeof(float), kRerankPrefetchBytes);
    const size_t n = s.results.size();
    for (size_t i = 0; i < n && i < kAhead; ++i)
      internal::PrefetchRange(FullVector(s.results[i].slot), bytes);
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n)
        internal::PrefetchRange(FullVector(s.results[i + kAhead].slot), bytes);
      const uint32_t slot = s.results[i].slot;
      s.top.Push(Distance(query, FullVector(slot)), ids_[slot]);
    }
  }
  s.top.Finish(out_ids, out_d);
}

absl::Status HnswIndex::SearchImpl(MatrixView<const float> queries,
                                   const SearchParams& params, SearchOutput out,
                                   Executor* executor) const {
  VINDEX_RETURN_IF_ERROR(internal::CheckSearch(queries, params, out, dim_));
  if (params.ef < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ef must be >= 0, got ", params.ef));
  }
  const Metric metric = options_.metric;
  std::vector<float> normalized;
  if (metric == Metric::kCosine) {
    VINDEX_RETURN_IF_ERROR(
        internal::CopyRows(queries, true, &normalized, "query"));
    queries =
        MatrixView<const float>(normalized.data(), queries.rows, queries.cols);
  }
  const int k = params.k;
  internal::ReaderLock lock(mu_);
  const uint32_t snapshot = published_epoch_.load(std::memory_order_acquire);
  if (live_ == 0 && params.filter != nullptr) {
    return absl::FailedPreconditionError(
        "search with a filter on an empty index");
  }
  if (live_ == 0) {
    for (int64_t i = 0; i < queries.rows; ++i) {
      std::fill(out.ids.row(i), out.ids.row(i) + k, -1);
      std::fill(out.distances.row(i), out.distances.row(i) + k,
                internal::MissingDistance(metric));
    }
    return absl::OkStatus();
  }
  const int ef = std::max(params.ef > 0 ? params.ef : options_.default_ef, k);
  FilterPlan plan;
  if (params.filter != nullptr) plan = PlanFilter(*params.filter, snapshot, ef);
  const IdFilter* lazy = plan.lazy;
  const bool ip_codes = metric == Metric::kInnerProduct;
  const int64_t grain = std::clamp<int64_t>(
      queries.rows / (8 * internal::NumThreads(executor)), 1, 64);
  internal::ParallelForRange(
      executor, queries.rows, grain,
      [&](int64_t b, int64_t e) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        auto s = scratch_.Acquire();
        for (int64_t i = b; i < e; ++i) {
          const float* q = queries.row(i);
          int64_t* oid = out.ids.row(i);
          float* od = out.distances.row(i);
          if (plan.scan) {
            ScanAllowed(q, k, plan.slots, oid, od);
          } else if (!quantized_) {
            FloatSpace space(*this, q, level0_, block_bytes_);
            SearchOne(space, q, k, ef, lazy, snapshot, *s, oid, od);
          } else if (sq_bits_ == 0) {
            Fp16Space space(*this, q);
            SearchOne(space, q, k, ef, lazy, snapshot, *s, oid, od);
          } else {
            // The query's codes one per byte; for packed 4-bit codes,
            // zero-padded to both halves of the layout.
            s->qcode.assign(sq_bits_ == 4 ? 2 * CodeBytes() : dim_, 0);
            if (ip_codes) {
              float lo, scale;
              internal::ScalarQuantizer::EncodeQueryForIp(
                  q, dim_, s->qcode.data(), &lo, &scale);
              SqIpSpace space(*this, s->qcode.data(), lo, scale);
              SearchOne(space, q, k, ef, lazy, snapshot, *s, oid, od);
            } else {
              sq_.Encode(q, s->qcode.data());
              SqL2Space space(*this, s->qcode.data());
              SearchOne(space, q, k, ef, lazy, snapshot, *s, oid, od);
            }
          }
          internal::ResultsToNatural(metric, oid, od, k);
        }
      });
  return absl::OkStatus();
}

}  // namespace vindex
