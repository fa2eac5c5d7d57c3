// IVF search: the coarse step (the nprobe closest lists of every query), the
// filter as a mask over list entries, then the family's list scans; and the
// same two halves called apart (Probe, then SearchProbes), so the probes of a
// batch can be computed in one place and each list scanned where it is held.

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

void IvfIndexBase::CoarseProbe(MatrixView<const float> queries, int nprobe,
                               int64_t* probe, float* coarse,
                               Executor* executor) const {
  BruteForceRows crow;
  crow.data = centroids_.data();
  crow.rows = ivf_.nlist;
  crow.dim = ivf_.dim;
  crow.stride = ivf_.dim;
  crow.sq_norms = centroid_norms_.data();
  if (centroid_codec_.has_value()) {
    crow.head_codec = &*centroid_codec_;
    crow.head_codes = centroid_head_codes_.data();
    crow.head_slack = centroid_head_slack_.data();
  }
  if (ivf_.metric != Metric::kL2 && leading_axes_first_) {
    // Spherical k-means centroids are unit vectors: behind a rotation the
    // one-query coarse step screens them with the squared-L2 early exit.
    crow.max_sq_norm = 0.0f;
    for (const float n : centroid_norms_) {
      crow.max_sq_norm = std::max(crow.max_sq_norm, n);
    }
  }
  BruteForceKnn(
      crow,
      ivf_.metric == Metric::kL2 ? Score::kL2 : Score::kNegativeInnerProduct,
      queries, nprobe, BruteForceOutput{probe, nprobe, coarse, nprobe},
      executor);
}

absl::Status IvfIndexBase::ScanProbes(MatrixView<const float> queries,
                                      const int64_t* probe, const float* coarse,
                                      int nprobe, int rerank,
                                      const SearchParams& params,
                                      SearchOutput out,
                                      Executor* executor) const {
  if (params.filter != nullptr && lists_.total() == 0) {
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
  const Metric metric = ivf_.metric;
  const int64_t nq = queries.rows;
  const BatchProbeContext batch{
      .queries = queries,
      .probe = probe,
      .coarse = coarse,
      .nprobe = nprobe,
      .k = params.k,
      .rerank_factor = rerank,
      .mask = params.filter != nullptr ? &mask : nullptr,
      .offsets = &offsets,
      .out = out,
      .executor = executor};
  if (ScanQueries(batch) ||
      (params.filter == nullptr &&
       ScanBatch(queries, probe, coarse, nprobe, params.k, out, executor))) {
    for (int64_t i = 0; i < nq; ++i)
      ResultsToNatural(metric, out.ids.row(i), out.distances.row(i), params.k);
    return absl::OkStatus();
  }
  ParallelFor(executor, nq, [&](int64_t i) {
    ProbeContext ctx;
    ctx.query = queries.row(i);
    ctx.lists = probe + i * nprobe;
    ctx.coarse = coarse + i * nprobe;
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

absl::StatusOr<int> IvfIndexBase::ResolveNprobe(int requested) const {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("nprobe ", requested, " < 0"));
  }
  return std::min(requested == 0 ? ivf_.default_nprobe : requested, ivf_.nlist);
}

absl::Status IvfIndexBase::SearchImpl(MatrixView<const float> queries,
                                      const SearchParams& params,
                                      SearchOutput out,
                                      Executor* executor) const {
  VINDEX_RETURN_IF_ERROR(CheckSearch(queries, params, out, ivf_.dim));
  VINDEX_ASSIGN_OR_RETURN(const int nprobe, ResolveNprobe(params.nprobe));
  VINDEX_ASSIGN_OR_RETURN(const int rerank, ResolveRerank(params));
  std::vector<float> normalized;
  VINDEX_ASSIGN_OR_RETURN(
      queries, RowsForMetric(ivf_.metric, queries, &normalized, "query"));
  ReaderLock lock(mu_);
  if (!trained_) return absl::FailedPreconditionError("search before Train");
  const int64_t nq = queries.rows;
  std::vector<int64_t> probe(nq * nprobe);
  std::vector<float> coarse(nq * nprobe);
  CoarseProbe(queries, nprobe, probe.data(), coarse.data(), executor);
  return ScanProbes(queries, probe.data(), coarse.data(), nprobe, rerank,
                    params, out, executor);
}

absl::Status IvfIndexBase::ProbeImpl(MatrixView<const float> queries,
                                     int nprobe, std::vector<int64_t>* probe,
                                     std::vector<float>* coarse, int* resolved,
                                     Executor* executor) const {
  if (probe == nullptr || coarse == nullptr) {
    return absl::InvalidArgumentError("probe and coarse must not be null");
  }
  VINDEX_RETURN_IF_ERROR(
      CheckMatrix(queries, ivf_.dim, "query", /*allow_empty=*/true));
  VINDEX_ASSIGN_OR_RETURN(const int np, ResolveNprobe(nprobe));
  std::vector<float> normalized;
  VINDEX_ASSIGN_OR_RETURN(
      queries, RowsForMetric(ivf_.metric, queries, &normalized, "query"));
  ReaderLock lock(mu_);
  if (!trained_) return absl::FailedPreconditionError("probe before Train");
  const int64_t nq = queries.rows;
  probe->assign(nq * np, -1);
  coarse->assign(nq * np, 0.0f);
  if (resolved != nullptr) *resolved = np;
  if (nq > 0) CoarseProbe(queries, np, probe->data(), coarse->data(), executor);
  return absl::OkStatus();
}

absl::Status IvfIndexBase::SearchProbesImpl(
    MatrixView<const float> queries, absl::Span<const int64_t> probe,
    absl::Span<const float> coarse, int nprobe, const SearchParams& params,
    SearchOutput out, Executor* executor) const {
  VINDEX_RETURN_IF_ERROR(CheckSearch(queries, params, out, ivf_.dim));
  if (nprobe < 1 || nprobe > ivf_.nlist) {
    return absl::InvalidArgumentError(
        absl::StrCat("nprobe ", nprobe, " not in [1, ", ivf_.nlist, "]"));
  }
  const int64_t nq = queries.rows;
  if (static_cast<int64_t>(probe.size()) != nq * nprobe ||
      static_cast<int64_t>(coarse.size()) != nq * nprobe) {
    return absl::InvalidArgumentError(
        absl::StrCat("need ", nq * nprobe, " probes and coarse scores, got ",
                     probe.size(), " and ", coarse.size()));
  }
  for (int64_t l : probe) {
    if (l < -1 || l >= ivf_.nlist) {
      return absl::InvalidArgumentError(
          absl::StrCat("probed list ", l, " out of range"));
    }
  }
  VINDEX_ASSIGN_OR_RETURN(const int rerank, ResolveRerank(params));
  std::vector<float> normalized;
  VINDEX_ASSIGN_OR_RETURN(
      queries, RowsForMetric(ivf_.metric, queries, &normalized, "query"));
  ReaderLock lock(mu_);
  if (!trained_) return absl::FailedPreconditionError("search before Train");
  return ScanProbes(queries, probe.data(), coarse.data(), nprobe, rerank,
                    params, out, executor);
}

}  // namespace vindex::internal
