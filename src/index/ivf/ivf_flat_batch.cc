// IVF-Flat's list-major batch scan: each probed list is read once for all
// the queries that probe it, instead of once per query.

#include <algorithm>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "core/topk.h"
#include "index/ivf/ivf_flat_index.h"
#include "kernels/kernels.h"

namespace vindex {
namespace {

// List-major scanning pays for grouping the (query, list) pairs, a top-k per
// pair and a merge per query; it saves re-reading a list for each query that
// probes it. It is chosen when the probed lists serve at least this many
// queries each on average (below, the batch is scanned query by query).
constexpr double kMinQueriesPerList = 1.5;
// A list's queries are scored in groups of at most this many (one task
// each), so that few, popular lists still spread over the threads.
constexpr int64_t kQueryGroup = 64;
// List rows per tile: a multiple of the row kernels' 4-row block (so tile
// edges do not change which rows the kernels score together), and small
// enough that a group's tile of distances stays in L2.
constexpr int64_t kBatchTile = 256;

}  // namespace

// A task is one (list, group of its queries): its rows scored against the
// group tile by tile with the multi-query row kernels, whose distances equal
// the one-query scan's bit for bit (GEMM's q.x form would round differently
// and measured no faster here: see docs/benchmarks.md), the best k per
// (query, probe) pair kept in that pair's slot; then each query's nprobe
// slots are merged. Tasks write disjoint slots, so the result depends
// neither on the executor nor on which queries share the batch.
bool IvfFlatIndex::ScanBatch(MatrixView<const float> queries,
                             const int64_t* probe, const float* /*coarse*/,
                             int nprobe, int k, SearchOutput out,
                             Executor* executor) const {
  const int64_t nq = queries.rows, nlist = ivf_options().nlist,
                d = ivf_options().dim;
  const int64_t slots = nq * nprobe;
  // A list serves at most nq queries: small batches (one query above all)
  // go query by query without counting anything.
  if (static_cast<double>(nq) < kMinQueriesPerList) return false;
  // Pairs grouped by list (counting sort, query order kept within a list).
  std::vector<int64_t> start(nlist + 1, 0);
  int64_t valid = 0;
  for (int64_t s = 0; s < slots; ++s) {
    if (probe[s] >= 0 && lists().list_size(probe[s]) > 0) {
      ++start[probe[s] + 1];
      ++valid;
    }
  }
  int64_t touched = 0;
  for (int64_t l = 0; l < nlist; ++l) touched += start[l + 1] > 0 ? 1 : 0;
  if (valid == 0 || static_cast<double>(valid) < kMinQueriesPerList * touched) {
    return false;
  }
  for (int64_t l = 0; l < nlist; ++l) start[l + 1] += start[l];
  std::vector<int64_t> by_list(valid);
  std::vector<int64_t> slot_ids(slots * k, int64_t{-1});
  std::vector<float> slot_dist(slots * k,
                               std::numeric_limits<float>::infinity());
  {
    std::vector<int64_t> next(start.begin(), start.end() - 1);
    for (int64_t s = 0; s < slots; ++s) {
      if (probe[s] >= 0 && lists().list_size(probe[s]) > 0)
        by_list[next[probe[s]]++] = s;
    }
  }
  // Tasks: (list, first pair of its group), groups of up to kQueryGroup.
  std::vector<int64_t> task_list, task_begin;
  for (int64_t l = 0; l < nlist; ++l) {
    for (int64_t b = start[l]; b < start[l + 1]; b += kQueryGroup) {
      task_list.push_back(l);
      task_begin.push_back(b);
    }
  }
  const bool l2 = ivf_options().metric == Metric::kL2;
  const kernels::KernelTable& kt = kernels::Active();
  internal::ParallelFor(
      executor, static_cast<int64_t>(task_list.size()), [&](int64_t t) {
        const int64_t l = task_list[t];
        const int64_t b = task_begin[t];
        const int64_t nql = std::min(kQueryGroup, start[l + 1] - b);
        const int64_t* pair = by_list.data() + b;
        const int64_t n = lists().list_size(l);
        const float* vecs = lists().vectors(l);
        const int64_t* ids = lists().ids(l);
        auto scratch = scratch_.Acquire();
        BatchScratch& bs = scratch->batch;
        bs.query.resize(nql);
        for (int64_t r = 0; r < nql; ++r)
          bs.query[r] = queries.row(pair[r] / nprobe);
        bs.dist.resize(nql * kBatchTile);
        bs.index.resize(kBatchTile);
        if (bs.tops.size() < static_cast<size_t>(nql)) bs.tops.resize(nql);
        for (int64_t r = 0; r < nql; ++r) bs.tops[r].Reset(k);
        for (int64_t b0 = 0; b0 < n; b0 += kBatchTile) {
          const int64_t bn = std::min(kBatchTile, n - b0);
          const float* v = vecs + b0 * d;
          if (l2) {
            kt.l2_sqr_rows_multi(bs.query.data(), nql, v, bn, d, d,
                                 bs.dist.data(), bn);
          } else {
            kt.inner_product_rows_multi(bs.query.data(), nql, v, bn, d, d,
                                        bs.dist.data(), bn);
          }
          for (int64_t r = 0; r < nql; ++r) {
            float* row = bs.dist.data() + r * bn;
            if (!l2) {
              for (int64_t i = 0; i < bn; ++i) row[i] = -row[i];
            }
            bs.tops[r].PushBlock(kt, row, bn, bs.index.data(),
                                 [&](uint32_t i) { return ids[b0 + i]; });
          }
        }
        for (int64_t r = 0; r < nql; ++r) {
          bs.tops[r].Finish(slot_ids.data() + pair[r] * k,
                            slot_dist.data() + pair[r] * k);
        }
      });
  internal::ParallelFor(executor, nq, [&](int64_t i) {
    internal::TopK top(k);
    const int64_t* cid = slot_ids.data() + i * nprobe * k;
    const float* cdist = slot_dist.data() + i * nprobe * k;
    for (int64_t j = 0; j < int64_t{nprobe} * k; ++j) {
      if (cid[j] != -1) top.Push(cdist[j], cid[j]);
    }
    top.Finish(out.ids.row(i), out.distances.row(i));
  });
  return true;
}

}  // namespace vindex
