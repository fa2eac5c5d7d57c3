#include "index/ivf_flat_index.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/topk.h"
#include "core/validate.h"
#include "kernels/kernels.h"

namespace vindex {
namespace {

// List entries scored per kernel call (the distance buffer stays in L1/L2).
constexpr int64_t kScanChunk = 1024;
// Bytes of the next probed list prefetched before scanning the current one.
constexpr size_t kPrefetchBytes = 4096;

}  // namespace

IvfFlatIndex::IvfFlatIndex(const internal::IvfConfig& config)
    : IvfIndexBase(config, internal::CodeLayout::kNone, 0, config.dim) {}

absl::StatusOr<std::unique_ptr<IvfFlatIndex>> IvfFlatIndex::Create(
    const IvfFlatOptions& o) {
  VINDEX_RETURN_IF_ERROR(internal::CheckIvfOptions(
      o.dim, o.metric, o.device, o.nlist, o.default_nprobe, o.kmeans_iterations,
      o.max_points_per_centroid));
  internal::IvfConfig c = internal::ConfigFromOptions(IndexFamily::kIvfFlat, o);
  return std::unique_ptr<IvfFlatIndex>(new IvfFlatIndex(c));
}

Capabilities IvfFlatIndex::capabilities() const {
  return Capabilities{.needs_training = true,
                      .remove = true,
                      .get_vectors = true,
                      .filter = true,
                      .add_during_search = true};
}

std::string IvfFlatIndex::Description() const {
  return absl::StrCat("IVF", config().nlist, ",Flat");
}

void IvfFlatIndex::ScanLists(const internal::ProbeContext& ctx) const {
  const kernels::KernelTable& kt = kernels::Active();
  const int64_t d = config().dim;
  const bool l2 = config().metric == Metric::kL2;
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
      for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch(head + off);
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

absl::StatusOr<std::unique_ptr<Index>> IvfFlatIndex::Load(
    const io::FileHeader& header, io::ContainerReader& reader) {
  VINDEX_ASSIGN_OR_RETURN(
      std::string params,
      reader.ReadSection(io::kTagParams, internal::kMaxIvfParamsBytes));
  io::ByteCursor cur(params, "IVF-Flat params");
  internal::IvfConfig c;
  bool trained = false;
  VINDEX_RETURN_IF_ERROR(ParseBaseParams(cur, &c, &trained));
  VINDEX_RETURN_IF_ERROR(cur.ExpectEnd());
  IvfFlatOptions o;
  o.dim = static_cast<int>(header.dim);
  o.metric = header.metric;
  o.nlist = c.nlist;
  o.default_nprobe = c.default_nprobe;
  o.kmeans_iterations = c.kmeans_iterations;
  o.max_points_per_centroid = c.max_points_per_centroid;
  o.seed = c.seed;
  auto index = Create(o);
  if (!index.ok()) return absl::DataLossError(index.status().message());
  VINDEX_RETURN_IF_ERROR((*index)->LoadBody(reader, header.count, trained));
  return std::unique_ptr<Index>(std::move(*index));
}

}  // namespace vindex
