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
#include "index/ip_screen.h"
#include "kernels/kernels.h"

namespace vindex {
namespace {

// List entries scored per kernel call (the distance buffer stays in L1/L2).
constexpr int64_t kScanChunk = 1024;
// List entries per bounded kernel call on the L2 path: smaller blocks hand the
// kernel a threshold that tightens sooner.
constexpr int64_t kBoundedScanChunk = 256;
// Bytes of the next probed list prefetched before scanning the current one.
constexpr size_t kPrefetchBytes = 4096;

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

bool IvfFlatIndex::KeepsListHeads() const {
  const Metric metric = ivf_options().metric;
  const bool screened = metric == Metric::kL2 || metric == Metric::kCosine;
  const size_t d = static_cast<size_t>(ivf_options().dim);
  return screened && leading_axes_first() && d >= kernels::kCodedHeadDim;
}

void IvfFlatIndex::ScanLists(const internal::ProbeContext& ctx) const {
  const kernels::KernelTable& kt = kernels::Active();
  const int64_t d = ivf_options().dim;
  const bool l2 = ivf_options().metric == Metric::kL2;
  // Cosine rows are unit vectors: behind a rotation the squared-L2 early
  // exit screens them too, and rows it passes are scored exactly.
  const bool cosine =
      ivf_options().metric == Metric::kCosine && leading_axes_first();
  // Long rows stop early in place; behind a rotation the lists keep coded
  // heads (KeepsListHeads), which stop rows before they are read.
  const bool long_rows = static_cast<size_t>(d) >= kernels::kBoundedMinDim;
  auto scratch = scratch_.Acquire();
  scratch->dist.resize(kScanChunk);
  scratch->index.resize(kScanChunk);
  float* dist = scratch->dist.data();
  // The query's part of the lists' coded heads.
  const internal::HeadCodec* codec = lists().head_codec();
  alignas(64) float head_offset[internal::HeadCodec::kDim];
  kernels::CodedHeads coded{};
  if (codec != nullptr) {
    coded.step = codec->step();
    coded.offset = head_offset;
    coded.query_slack = codec->PrepareQuery(ctx.query, head_offset);
    if (codec->tail_dim() > 0) {
      scratch->tail_offset.resize(codec->tail_dim());
      coded.tail_step = codec->tail_step();
      coded.tail_offset = scratch->tail_offset.data();
      coded.tail_dim = codec->tail_dim();
      coded.tail_query_slack =
          codec->PrepareQueryTail(ctx.query, scratch->tail_offset.data());
    }
  }
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
    const uint8_t* head_codes = lists().head_codes(l);
    const bool bounded = (l2 || cosine) && (long_rows || head_codes != nullptr);
    const int64_t chunk = bounded ? kBoundedScanChunk : kScanChunk;
    for (int64_t b = 0; b < n; b += chunk) {
      const int64_t bn = std::min(chunk, n - b);
      const kernels::CodedHeads* block_heads = nullptr;
      if (head_codes != nullptr) {
        coded.codes = head_codes + b * internal::HeadCodec::kDim;
        coded.slack = lists().head_slack(l) + b;
        if (coded.tail_dim > 0) {
          coded.tail_codes = lists().tail_codes(l) + b * (coded.tail_dim / 2);
          coded.row_slack = lists().row_slack(l) + b;
        }
        block_heads = &coded;
      }
      if (bounded && cosine) {
        // Unit query and rows (to rounding, which the bound allows for).
        const float bound =
            internal::InnerProductScreenBound(top.threshold(), 1.0f, 1.0f, d);
        internal::ScreenedNegativeInnerProducts(kt, ctx.query, vecs + b * d, bn,
                                                d, d, bound, dist, block_heads);
      } else if (bounded) {
        // Rows left unfinished hold a partial sum above the threshold, so
        // PushBlock drops them as it would their full distances.
        kt.l2_sqr_rows_bounded(ctx.query, vecs + b * d, bn, d, d,
                               top.threshold(), dist, block_heads);
      } else if (l2) {
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
