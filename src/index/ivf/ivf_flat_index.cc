#include "index/ivf/ivf_flat_index.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/parallel.h"
#include "core/prefetch.h"
#include "core/status_macros.h"
#include "core/topk.h"
#include "core/validate.h"
#include "kernels/kernels.h"
#include "linalg/gemm.h"

namespace vindex {
namespace {

// List entries scored per kernel call (the distance buffer stays in L1/L2).
constexpr int64_t kScanChunk = 1024;
// Bytes of the next probed list prefetched before scanning the current one.
constexpr size_t kPrefetchBytes = 4096;
// Batches use ScanBatch when each probed list serves at least this many
// queries on average.
constexpr int64_t kMinQueriesPerList = 4;
// List rows per GEMM tile in ScanBatch.
constexpr int64_t kBatchTile = 256;

}  // namespace

IvfFlatIndex::IvfFlatIndex(const IvfCommonOptions& options)
    : IvfIndexBase(IndexFamily::kIvfFlat, options, internal::CodeLayout::kNone,
                   0, options.dim) {}

absl::StatusOr<std::unique_ptr<IvfFlatIndex>> IvfFlatIndex::Create(
    const IvfFlatOptions& o) {
  VINDEX_RETURN_IF_ERROR(internal::CheckIvfOptions(o.ivf));
  return std::unique_ptr<IvfFlatIndex>(new IvfFlatIndex(o.ivf));
}

Capabilities IvfFlatIndex::capabilities() const {
  return Capabilities{.needs_training = true,
                      .remove = true,
                      .get_vectors = true,
                      .filter = true,
                      .add_during_search = true};
}

std::string IvfFlatIndex::Description() const {
  return absl::StrCat("IVF", ivf_options().nlist, ",Flat");
}

void IvfFlatIndex::ScanLists(const internal::ProbeContext& ctx) const {
  const kernels::KernelTable& kt = kernels::Active();
  const int64_t d = ivf_options().dim;
  const bool l2 = ivf_options().metric == Metric::kL2;
  auto scratch = scratch_.Acquire();
  scratch->dist.resize(kScanChunk);
  scratch->index.resize(kScanChunk);
  float* dist = scratch->dist.data();
  internal::TopK top(ctx.k);
  for (int p = 0; p < ctx.nprobe; ++p) {
    const int64_t l = ctx.lists[p];
    if (l < 0) continue;
    if (p + 1 < ctx.nprobe && ctx.lists[p + 1] >= 0) {
      // Start fetching the head of the next list while this one is scanned,
      // so its stream is already running when we get there.
      const int64_t next = ctx.lists[p + 1];
      const size_t bytes = std::min<size_t>(
          lists().list_size(next) * d * sizeof(float), kPrefetchBytes);
      const char* head = reinterpret_cast<const char*>(lists().vectors(next));
      internal::PrefetchRange(head, bytes);
    }
    const int64_t n = lists().list_size(l);
    const int64_t* list_ids = lists().ids(l);
    const float* vecs = lists().vectors(l);
    if (ctx.mask != nullptr) {
      // Filtered: only allowed entries are scored.
      const int64_t base = (*ctx.offsets)[l];
      for (int64_t i = 0; i < n; ++i) {
        if (!ctx.mask->Test(base + i)) continue;
        const float s = l2 ? kt.l2_sqr(ctx.query, vecs + i * d, d)
                           : -kt.inner_product(ctx.query, vecs + i * d, d);
        top.Push(s, list_ids[i]);
      }
      continue;
    }
    for (int64_t b = 0; b < n; b += kScanChunk) {
      const int64_t bn = std::min(kScanChunk, n - b);
      if (l2) {
        kt.l2_sqr_rows(ctx.query, vecs + b * d, bn, d, d, dist);
      } else {
        kt.inner_product_rows(ctx.query, vecs + b * d, bn, d, d, dist);
        for (int64_t i = 0; i < bn; ++i) dist[i] = -dist[i];
      }
      const int64_t* ids = list_ids + b;
      top.PushBlock(kt, dist, bn, scratch->index.data(),
                    [&](uint32_t i) { return ids[i]; });
    }
  }
  top.Finish(ctx.out_ids, ctx.out_scores);
}

// Each list is read once for all the queries that probe it: their rows
// times the list's rows by GEMM, the best k per (query, probe) kept in a
// slot, then each query's nprobe slots merged. Lists and queries are
// independent tasks, so the result does not depend on the executor.
bool IvfFlatIndex::ScanBatch(MatrixView<const float> queries,
                             const int64_t* probe, const float* /*coarse*/,
                             int nprobe, int k, SearchOutput out,
                             Executor* executor) const {
  const int64_t nq = queries.rows, nlist = ivf_options().nlist,
                d = ivf_options().dim;
  if (nq * nprobe < kMinQueriesPerList * std::min<int64_t>(nlist, nq * nprobe))
    return false;
  const bool l2 = ivf_options().metric == Metric::kL2;
  const int64_t slots = nq * nprobe;
  // Slots grouped by list (counting sort, query order kept within a list).
  std::vector<int64_t> start(nlist + 1, 0), by_list(slots);
  std::vector<int64_t> slot_ids(slots * k);
  std::vector<float> slot_dist(slots * k);
  std::vector<float> qnorms(l2 ? nq : 0);
  for (int64_t s = 0; s < slots; ++s) {
    if (probe[s] >= 0) ++start[probe[s] + 1];
  }
  for (int64_t l = 0; l < nlist; ++l) start[l + 1] += start[l];
  {
    std::vector<int64_t> next(start.begin(), start.end() - 1);
    for (int64_t s = 0; s < slots; ++s) {
      if (probe[s] >= 0) by_list[next[probe[s]]++] = s;
      // Slots of absent lists stay empty.
      std::fill_n(slot_ids.begin() + s * k, k, int64_t{-1});
      std::fill_n(slot_dist.begin() + s * k, k,
                  std::numeric_limits<float>::infinity());
    }
  }
  if (l2) {
    for (int64_t i = 0; i < nq; ++i) {
      linalg::RowSquaredNorms(queries.row(i), 1, d, d, qnorms.data() + i);
    }
  }
  const kernels::KernelTable& kt = kernels::Active();
  internal::ParallelFor(executor, nlist, [&](int64_t l) {
    const int64_t nql = start[l + 1] - start[l];
    const int64_t n = lists().list_size(l);
    if (nql == 0 || n == 0) return;
    const int64_t* slot_of = by_list.data() + start[l];
    const float* vecs = lists().vectors(l);
    const int64_t* ids = lists().ids(l);
    std::vector<float> a(nql * d), dot(nql * kBatchTile), vnorms(kBatchTile);
    std::vector<uint32_t> index(kBatchTile);
    for (int64_t r = 0; r < nql; ++r) {
      std::copy_n(queries.row(slot_of[r] / nprobe), d, a.data() + r * d);
    }
    std::vector<internal::TopK> tops(nql, internal::TopK(k));
    for (int64_t b = 0; b < n; b += kBatchTile) {
      const int64_t bn = std::min(kBatchTile, n - b);
      const float* v = vecs + b * d;
      linalg::GemmABt(a.data(), nql, d, v, bn, d, d, dot.data(), bn);
      if (l2) linalg::RowSquaredNorms(v, bn, d, d, vnorms.data());
      for (int64_t r = 0; r < nql; ++r) {
        float* row = dot.data() + r * bn;
        if (l2) {
          const float qn = qnorms[slot_of[r] / nprobe];
          for (int64_t i = 0; i < bn; ++i)
            row[i] = std::max(0.0f, qn + vnorms[i] - 2.0f * row[i]);
        } else {
          for (int64_t i = 0; i < bn; ++i) row[i] = -row[i];
        }
        tops[r].PushBlock(kt, row, bn, index.data(),
                          [&](uint32_t i) { return ids[b + i]; });
      }
    }
    for (int64_t r = 0; r < nql; ++r) {
      tops[r].Finish(slot_ids.data() + slot_of[r] * k,
                     slot_dist.data() + slot_of[r] * k);
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

absl::StatusOr<std::unique_ptr<Index>> IvfFlatIndex::Load(
    const io::FileHeader& header, io::ContainerReader& reader) {
  VINDEX_ASSIGN_OR_RETURN(
      std::string params,
      reader.ReadSection(io::kTagParams, internal::kMaxIvfParamsBytes));
  io::ByteCursor cur(params, "IVF-Flat params");
  IvfFlatOptions o;
  bool trained = false;
  VINDEX_RETURN_IF_ERROR(ParseBaseParams(cur, &o.ivf, &trained));
  VINDEX_RETURN_IF_ERROR(cur.ExpectEnd());
  o.ivf.dim = static_cast<int>(header.dim);
  o.ivf.metric = header.metric;
  auto index = Create(o);
  if (!index.ok()) return absl::DataLossError(index.status().message());
  VINDEX_RETURN_IF_ERROR((*index)->LoadBody(reader, header.count, trained));
  return std::unique_ptr<Index>(std::move(*index));
}

}  // namespace vindex
