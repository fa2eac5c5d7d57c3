// IVF-PQ fast-scan batches scanned list by list: the batch's (query -> probed
// lists) is inverted into (list -> queries probing it), and each list's codes
// are read once for all of its queries, up to kFastScanMaxQueries per code
// load, each query keeping its own candidates across lists.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/list_location.h"
#include "core/parallel.h"
#include "core/prefetch.h"
#include "core/topk.h"
#include "index/ivf/ivf_pq_index.h"
#include "kernels/pq_kernels.h"

namespace vindex {
namespace {

using kernels::kFastScanBlock;
using kernels::kFastScanMaxQueries;

// List entries scored per kernel call (as the one-query scan).
constexpr int64_t kScanChunk = 1024;

// One probe of a query in a group: which query and the list's coarse score.
struct QueryProbe {
  uint32_t query;
  float coarse;
};

}  // namespace

bool IvfPqIndex::ListMajorPays(int64_t group_queries, int nprobe,
                               int64_t nlist) {
  return group_queries * nprobe >= kListMajorMinQueriesPerList * nlist;
}

bool IvfPqIndex::ScanQueries(const internal::BatchProbeContext& b) const {
  if (options_.pq_bits != 4) return false;
  const int64_t nq = b.queries.rows;
  const int64_t nlist = lists().nlist();
  // Whole groups of queries per task: more queries per group share more
  // list scans; one group per thread, more only to bound the memory.
  const int64_t groups =
      std::max<int64_t>(internal::NumThreads(b.executor),
                        (nq + kListMajorMaxGroup - 1) / kListMajorMaxGroup);
  const int64_t group_size = (nq + groups - 1) / groups;
  if (!ListMajorPays(group_size, b.nprobe, nlist)) return false;
  internal::ParallelForRange(
      b.executor, nq, group_size,
      [&](int64_t q0, int64_t q1) { ScanQueryGroup(b, q0, q1); });
  return true;
}

void IvfPqIndex::ScanQueryGroup(const internal::BatchProbeContext& b,
                                int64_t q0, int64_t q1) const {
  const kernels::pq::Table& pk = kernels::pq::Active();
  const int64_t g_count = q1 - q0;
  const int64_t nlist = lists().nlist();
  const int nprobe = b.nprobe;
  const bool rerank = b.rerank_factor > 0;
  const int pairs = static_cast<int>((pq_.m() + 1) / 2);
  const size_t lut_bytes = size_t(pairs) * 32;
  auto sc = scratch_.Acquire();

  // Every query's quantized table and candidates.
  std::vector<uint8_t> luts(g_count * lut_bytes);
  std::vector<float> lo_sum(g_count), inv_scale(g_count);
  std::vector<int> kk(g_count);
  std::vector<internal::TopK> tops(g_count);
  for (int64_t g = 0; g < g_count; ++g) {
    const QueryTable qt = PrepareQuery(b.queries.row(q0 + g), *sc);
    std::memcpy(luts.data() + g * lut_bytes, qt.q8, lut_bytes);
    lo_sum[g] = qt.lo_sum;
    inv_scale[g] = qt.inv_scale;
    const int64_t* row = b.probe + (q0 + g) * nprobe;
    kk[g] = CandidateCount(row, nprobe, b.k, b.rerank_factor);
    tops[g].Reset(kk[g]);
  }

  // (query -> lists) inverted into (list -> queries), by counting sort.
  std::vector<int64_t> start(nlist + 1, 0);
  for (int64_t i = 0; i < g_count * nprobe; ++i) {
    const int64_t l = b.probe[q0 * nprobe + i];
    if (l >= 0 && lists().list_size(l) > 0) ++start[l + 1];
  }
  for (int64_t l = 0; l < nlist; ++l) start[l + 1] += start[l];
  std::vector<QueryProbe> probes(start[nlist]);
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t g = 0; g < g_count; ++g) {
      for (int p = 0; p < nprobe; ++p) {
        const int64_t i = (q0 + g) * nprobe + p;
        const int64_t l = b.probe[i];
        if (l < 0 || lists().list_size(l) == 0) continue;
        probes[fill[l]++] = QueryProbe{static_cast<uint32_t>(g), b.coarse[i]};
      }
    }
  }

  const int64_t chunk =
      b.mask != nullptr ? int64_t{kFastScanBlock} : kScanChunk;
  sc->dist.resize(kFastScanMaxQueries * chunk);
  sc->index.resize(kFastScanMaxQueries * chunk);
  int64_t next = 0;  // The next list with queries, for its prefetch.
  for (int64_t l = 0; l < nlist; l = next) {
    next = l + 1;
    while (next < nlist && start[next] == start[next + 1]) ++next;
    if (start[l] == start[l + 1]) continue;
    if (next < nlist) PrefetchList(next);
    const int64_t n = lists().list_size(l);
    const float* terms = lists().terms(l);  // Null unless L2.
    const int64_t* ids = lists().ids(l);
    const uint8_t* codes = lists().codes(l);
    const int64_t base = b.mask != nullptr ? (*b.offsets)[l] : 0;
    int64_t first = 0;
    auto key = [&](uint32_t i) -> int64_t {
      const int64_t at = first + i;
      if (b.mask != nullptr && !b.mask->Test(base + at)) return -1;
      return rerank ? static_cast<int64_t>(
                          internal::ListLocation::At(l, at).Pack())
                    : ids[at];
    };
    for (int64_t s = start[l]; s < start[l + 1];
         s += int64_t{kFastScanMaxQueries}) {
      const size_t qn = std::min<size_t>(kFastScanMaxQueries, start[l + 1] - s);
      const uint8_t* lut[kFastScanMaxQueries];
      float bias[kFastScanMaxQueries], scale[kFastScanMaxQueries],
          threshold[kFastScanMaxQueries];
      size_t counts[kFastScanMaxQueries];
      internal::TopK* top[kFastScanMaxQueries];
      for (size_t j = 0; j < qn; ++j) {
        const QueryProbe& pr = probes[s + j];
        lut[j] = luts.data() + pr.query * lut_bytes;
        // The same sum, in the same order, as the one-query scan.
        bias[j] = (ByResidual() ? pr.coarse : 0.0f) + lo_sum[pr.query];
        scale[j] = inv_scale[pr.query];
        top[j] = &tops[pr.query];
      }
      for (first = 0; first < n; first += chunk) {
        const int64_t cnt = std::min(chunk, n - first);
        if (b.mask != nullptr) {
          bool any = false;
          for (int64_t i = 0; i < cnt && !any; ++i)
            any = b.mask->Test(base + first + i);
          if (!any) continue;
        }
        for (size_t j = 0; j < qn; ++j) threshold[j] = top[j]->threshold();
        pk.scan4_fastscan_filter_multi(
            codes + first / kFastScanBlock * lut_bytes, cnt, pairs, qn, lut,
            terms != nullptr ? terms + first : nullptr, bias, scale, threshold,
            sc->index.data(), sc->dist.data(), counts);
        for (size_t j = 0; j < qn; ++j) {
          top[j]->PushFiltered(sc->dist.data() + j * cnt,
                               sc->index.data() + j * cnt, counts[j], key);
        }
      }
    }
  }

  for (int64_t g = 0; g < g_count; ++g) {
    const int64_t q = q0 + g;
    FinishQuery(b.queries.row(q), tops[g], kk[g], b.k, rerank, b.out.ids.row(q),
                b.out.distances.row(q), *sc);
  }
}

}  // namespace vindex
