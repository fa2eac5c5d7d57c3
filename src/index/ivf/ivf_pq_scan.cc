// IVF-PQ list scans: the query's one lookup table, then each probed list's
// codes scored against it (8-bit table scan or 4-bit fast-scan).

#include <algorithm>
#include <cstdint>

#include "core/list_location.h"
#include "core/prefetch.h"
#include "core/topk.h"
#include "index/ivf/ivf_pq_index.h"
#include "kernels/kernels.h"
#include "kernels/pq_kernels.h"

namespace vindex {
namespace {

using kernels::kFastScanBlock;

// List entries scored per kernel call.
constexpr int64_t kScanChunk = 1024;

}  // namespace

IvfPqIndex::QueryTable IvfPqIndex::PrepareQuery(const float* query,
                                                Scratch& sc) const {
  const kernels::pq::Table& pk = kernels::pq::Active();
  const int64_t m = pq_.m(), ksub = pq_.ksub();
  sc.t2.resize(m * ksub);
  QueryTable qt;
  qt.t2 = sc.t2.data();
  // The one table of the query, shared by every probed list:
  // factor * <q_j, y_jc>. A list adds its bias (the coarse score, by
  // residual) and, for L2, each entry's term (see UsesEntryTerms).
  const float factor = options_.ivf.metric == Metric::kL2 ? -2.0f : -1.0f;
  pk.inner_product_tables(query, books_t_.data(), m, pq_.dsub(), ksub, factor,
                          nullptr, sc.t2.data());
  // 4-bit: the table quantized once: score = bias + lo_sum + sum * inv_scale.
  if (options_.pq_bits == 4) {
    sc.q8.resize(size_t((m + 1) / 2) * 32);
    qt.q8 = sc.q8.data();
    qt.inv_scale = pk.quantize_lut4(sc.t2.data(), m, sc.q8.data(), &qt.lo_sum);
  }
  return qt;
}

void IvfPqIndex::PrefetchList(int64_t l) const {
  const char* c = reinterpret_cast<const char*>(lists().codes(l));
  const int64_t code_bytes = std::min<int64_t>(
      int64_t(lists().code_bytes(lists().list_size(l))), 2048);
  internal::PrefetchRange(c, code_bytes);
  if (lists().terms(l) != nullptr) {
    const char* t = reinterpret_cast<const char*>(lists().terms(l));
    internal::PrefetchRange(t, lists().list_size(l) * 4);
  }
}

void IvfPqIndex::ScanList(int64_t l, float coarse, const QueryTable& qt,
                          const internal::RowMask* mask, int64_t base,
                          bool location_keys, internal::TopK& top,
                          Scratch& sc) const {
  const kernels::KernelTable& kt = kernels::Active();
  const kernels::pq::Table& pk = kernels::pq::Active();
  const int64_t n = lists().list_size(l);
  if (n == 0) return;
  const int64_t m = pq_.m();
  const bool fast_scan = options_.pq_bits == 4;
  const int pairs = static_cast<int>((m + 1) / 2);
  const size_t block_bytes = size_t(pairs) * 32;
  sc.dist.resize(kScanChunk);
  sc.index.resize(kScanChunk);
  float* dist = sc.dist.data();
  const float bias = (ByResidual() ? coarse : 0.0f) + qt.lo_sum;
  const float* terms = lists().terms(l);  // Null unless L2.
  const int64_t* ids = lists().ids(l);
  const uint8_t* codes = lists().codes(l);
  auto key = [&](int64_t i) -> int64_t {
    if (mask != nullptr && !mask->Test(base + i)) return -1;
    return location_keys
               ? static_cast<int64_t>(internal::ListLocation::At(l, i).Pack())
               : ids[i];
  };

  if (!fast_scan && mask != nullptr) {
    for (int64_t i = 0; i < n; ++i) {
      if (!mask->Test(base + i)) continue;
      const uint8_t* c = codes + i * m;
      float s = bias + (terms != nullptr ? terms[i] : 0.0f);
      for (int64_t j = 0; j < m; ++j) s += qt.t2[j * 256 + c[j]];
      top.Push(s, key(i));
    }
    return;
  }
  if (fast_scan) {
    // Chunks of whole 32-entry blocks; one block at a time with a filter,
    // so blocks with no allowed entry are never scored. The kernel keeps
    // only entries within the top's threshold as the chunk starts.
    const int64_t chunk = mask != nullptr ? kFastScanBlock : kScanChunk;
    for (int64_t first = 0; first < n; first += chunk) {
      const int64_t cnt = std::min(chunk, n - first);
      if (mask != nullptr) {
        bool any = false;
        for (int64_t i = 0; i < cnt && !any; ++i)
          any = mask->Test(base + first + i);
        if (!any) continue;
      }
      const size_t passed = pk.scan4_fastscan_filter(
          codes + first / kFastScanBlock * block_bytes, cnt, pairs, qt.q8,
          terms != nullptr ? terms + first : nullptr, bias, qt.inv_scale,
          top.threshold(), sc.index.data(), dist);
      top.PushFiltered(dist, sc.index.data(), passed,
                       [&](uint32_t i) { return key(first + i); });
    }
    return;
  }
  for (int64_t first = 0; first < n; first += kScanChunk) {
    const int64_t cnt = std::min(kScanChunk, n - first);
    pk.scan8(qt.t2, codes + first * m, cnt, m, dist);
    for (int64_t i = 0; i < cnt; ++i) dist[i] += bias;
    if (terms != nullptr) {
      for (int64_t i = 0; i < cnt; ++i) dist[i] += terms[first + i];
    }
    top.PushBlock(kt, dist, cnt, sc.index.data(),
                  [&](uint32_t i) { return key(first + i); });
  }
}

void IvfPqIndex::ScanLists(const internal::ProbeContext& ctx) const {
  auto sc = scratch_.Acquire();
  const QueryTable qt = PrepareQuery(ctx.query, *sc);
  const bool rerank = ctx.rerank_factor > 0;
  const int kk =
      CandidateCount(ctx.lists, ctx.nprobe, ctx.k, ctx.rerank_factor);
  internal::TopK top(kk);
  for (int p = 0; p < ctx.nprobe; ++p) {
    const int64_t l = ctx.lists[p];
    if (l < 0) continue;
    // The head of the next list's codes and its terms are requested now,
    // so their misses overlap this list's scan (docs/decisions.md, IVF).
    if (p + 1 < ctx.nprobe && ctx.lists[p + 1] >= 0)
      PrefetchList(ctx.lists[p + 1]);
    ScanList(l, ctx.coarse[p], qt, ctx.mask,
             ctx.mask != nullptr ? (*ctx.offsets)[l] : 0, rerank, top, *sc);
  }
  FinishQuery(ctx.query, top, kk, ctx.k, rerank, ctx.out_ids, ctx.out_scores,
              *sc);
}

}  // namespace vindex
