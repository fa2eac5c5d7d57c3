// IVF search: the coarse step (the nprobe closest lists of every query), the
// filter as a mask over list entries, then the family's list scans.

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/filter_plan.h"
#include "core/id_map.h"
#include "core/list_location.h"
#include "core/metric_space.h"
#include "core/parallel.h"
#include "core/row_mask.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "index/brute_force.h"
#include "index/ivf/ivf_base.h"
#include "vindex/filter.h"

namespace vindex::internal {
namespace {

// The entries `filter` allows, as a mask over global positions: list l's
// entry i is bit offsets[l] + i (offsets: nlist + 1 prefix sums of the list
// sizes). Listed ids are found through `where` (id -> packed ListLocation).
RowMask FilterMask(const IdFilter& filter, const InvertedLists& lists,
                   const IdMap<uint64_t>& where,
                   const std::vector<int64_t>& offsets) {
  return BuildRowMask(
      filter, offsets.back(),
      [&](int64_t id) -> int64_t {
        const uint64_t* packed = where.Find(id);
        if (packed == nullptr) return -1;
        const ListLocation at = ListLocation::Unpack(*packed);
        return offsets[at.list] + at.offset;
      },
      [&](auto&& visit) {
        for (int64_t l = 0; l < lists.nlist(); ++l) {
          const int64_t* ids = lists.ids(l);
          for (int64_t i = 0; i < lists.list_size(l); ++i)
            visit(offsets[l] + i, ids[i]);
        }
      });
}

}  // namespace

absl::Status IvfIndexBase::SearchImpl(MatrixView<const float> queries,
                                      const SearchParams& params,
                                      SearchOutput out,
                                      Executor* executor) const {
  VINDEX_RETURN_IF_ERROR(CheckSearch(queries, params, out, ivf_.dim));
  if (params.nprobe < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("nprobe ", params.nprobe, " < 0"));
  }
  VINDEX_ASSIGN_OR_RETURN(const int rerank, ResolveRerank(params));
  const int nprobe = std::min(
      params.nprobe == 0 ? ivf_.default_nprobe : params.nprobe, ivf_.nlist);
  const Metric metric = ivf_.metric;
  std::vector<float> normalized;
  if (metric == Metric::kCosine) {
    VINDEX_RETURN_IF_ERROR(CopyRows(queries, true, &normalized, "query"));
    queries =
        MatrixView<const float>(normalized.data(), queries.rows, queries.cols);
  }
  ReaderLock lock(mu_);
  if (!trained_) return absl::FailedPreconditionError("search before Train");
  const int64_t total = lists_.total();
  if (params.filter != nullptr && total == 0) {
    return absl::FailedPreconditionError(
        "search with a filter on an empty index");
  }
  // Filters become a bitmask over global positions (list offset + position),
  // built once per call, so a list entry is tested before any distance work.
  std::vector<int64_t> offsets;
  RowMask mask;
  if (params.filter != nullptr) {
    offsets.resize(ivf_.nlist + 1, 0);
    for (int64_t l = 0; l < ivf_.nlist; ++l)
      offsets[l + 1] = offsets[l] + lists_.list_size(l);
    mask = FilterMask(*params.filter, lists_, where_, offsets);
  }

  // Coarse step: the nprobe closest centroids of every query (GEMM batched).
  const int64_t nq = queries.rows;
  std::vector<int64_t> probe(nq * nprobe);
  std::vector<float> coarse(nq * nprobe);
  BruteForceRows crow;
  crow.data = centroids_.data();
  crow.rows = ivf_.nlist;
  crow.dim = ivf_.dim;
  crow.stride = ivf_.dim;
  crow.sq_norms = centroid_norms_.data();
  BruteForceKnn(
      crow, metric == Metric::kL2 ? Score::kL2 : Score::kNegativeInnerProduct,
      queries, nprobe,
      BruteForceOutput{probe.data(), nprobe, coarse.data(), nprobe}, executor);

  const BatchProbeContext batch{
      .queries = queries,
      .probe = probe.data(),
      .coarse = coarse.data(),
      .nprobe = nprobe,
      .k = params.k,
      .rerank_factor = rerank,
      .mask = params.filter != nullptr ? &mask : nullptr,
      .offsets = &offsets,
      .out = out,
      .executor = executor};
  if (ScanQueries(batch) || (params.filter == nullptr &&
                             ScanBatch(queries, probe.data(), coarse.data(),
                                       nprobe, params.k, out, executor))) {
    for (int64_t i = 0; i < nq; ++i)
      ResultsToNatural(metric, out.ids.row(i), out.distances.row(i), params.k);
    return absl::OkStatus();
  }
  ParallelFor(executor, nq, [&](int64_t i) {
    ProbeContext ctx;
    ctx.query = queries.row(i);
    ctx.lists = probe.data() + i * nprobe;
    ctx.coarse = coarse.data() + i * nprobe;
    ctx.nprobe = nprobe;
    ctx.k = params.k;
    ctx.rerank_factor = rerank;
    ctx.mask = params.filter != nullptr ? &mask : nullptr;
    ctx.offsets = &offsets;
    ctx.out_ids = out.ids.row(i);
    ctx.out_scores = out.distances.row(i);
    ScanLists(ctx);
    ResultsToNatural(metric, out.ids.row(i), out.distances.row(i), params.k);
  });
  return absl::OkStatus();
}

}  // namespace vindex::internal
