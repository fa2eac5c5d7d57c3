// Sharded and replicated batch search across ranks, and the top-k merge.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "shard_loading.h"
#include "vindex/filter.h"
#include "vindex/mpi/distributed.h"

namespace vindex::mpi {
namespace {

#define VINDEX_AGREE_OR_RETURN(comm, expr)                                  \
  do {                                                                      \
    if (absl::Status agreed_ = (comm).AgreeOnStatus(expr); !agreed_.ok()) { \
      return agreed_;                                                       \
    }                                                                       \
  } while (0)

#define VINDEX_MPI_RETURN_IF_ERROR(expr)      \
  do {                                        \
    if (absl::Status s_ = (expr); !s_.ok()) { \
      return s_;                              \
    }                                         \
  } while (0)

// Whether a is closer than b in natural values of `metric` (ties: smaller
// id); missing entries (id -1) come last.
bool Closer(Metric metric, int64_t id_a, float a, int64_t id_b, float b) {
  if ((id_a < 0) != (id_b < 0)) return id_b < 0;
  if (a != b) return metric == Metric::kL2 ? a < b : a > b;
  return id_a < id_b;
}

float MissingDistance(Metric metric) {
  return metric == Metric::kL2 ? std::numeric_limits<float>::infinity()
                               : -std::numeric_limits<float>::infinity();
}

// The parameters every rank must search with, sent from rank 0.
struct WireParams {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t batch_rows = 0;
  int64_t allow_count = -1;  // -1: no filter.
  int32_t k = 0;
  int32_t nprobe = 0;
  int32_t ef = 0;
  int32_t rerank_factor = 0;
};

}  // namespace

void MergeTopK(Metric metric, int64_t rows, int k,
               absl::Span<const int64_t* const> part_ids,
               absl::Span<const float* const> part_distances,
               SearchOutput out) {
  const size_t parts = part_ids.size();
  std::vector<size_t> at(parts);
  for (int64_t q = 0; q < rows; ++q) {
    std::fill(at.begin(), at.end(), 0);
    for (int j = 0; j < k; ++j) {
      int best = -1;
      int64_t best_id = -1;
      float best_d = MissingDistance(metric);
      for (size_t p = 0; p < parts; ++p) {
        if (at[p] >= static_cast<size_t>(k)) continue;
        const int64_t id = part_ids[p][q * k + at[p]];
        const float dist = part_distances[p][q * k + at[p]];
        if (id < 0) continue;
        if (best < 0 || Closer(metric, id, dist, best_id, best_d)) {
          best = static_cast<int>(p);
          best_id = id;
          best_d = dist;
        }
      }
      if (best >= 0) ++at[best];
      out.ids.row(q)[j] = best_id;
      out.distances.row(q)[j] = best < 0 ? MissingDistance(metric) : best_d;
    }
  }
}

absl::StatusOr<ShardedSearcher> ShardedSearcher::Open(Communicator& comm,
                                                      const std::string& dir,
                                                      const LoadOptions& load) {
  // Rank 0 reads the manifest and sends it to all, so every rank opens the
  // same generation even while a new build replaces it.
  std::string bytes;
  absl::Status local;
  if (comm.rank() == 0) {
    absl::StatusOr<std::string> read =
        ReadWholeFile(absl::StrCat(dir, "/", kManifestName));
    local = read.status();
    if (read.ok()) bytes = *std::move(read);
  }
  VINDEX_AGREE_OR_RETURN(comm, local);
  VINDEX_MPI_RETURN_IF_ERROR(comm.BroadcastString(&bytes, 0));
  absl::StatusOr<ShardManifest> manifest = DecodeManifest(bytes);
  local = manifest.status();
  if (local.ok() && static_cast<int>(manifest->shards.size()) != comm.size()) {
    local = absl::FailedPreconditionError(
        absl::StrCat("the index has ", manifest->shards.size(),
                     " shards; run it on as many ranks, not ", comm.size()));
  }
  VINDEX_AGREE_OR_RETURN(comm, local);
  absl::StatusOr<std::unique_ptr<Index>> index =
      internal::LoadShard(dir, *manifest, comm.rank(), load);
  VINDEX_AGREE_OR_RETURN(comm, index.status());
  return ShardedSearcher(&comm, *std::move(index), *std::move(manifest),
                         /*replicated=*/false);
}

absl::StatusOr<ShardedSearcher> ShardedSearcher::OpenReplicated(
    Communicator& comm, const std::string& index_path) {
  absl::StatusOr<std::unique_ptr<Index>> index =
      LoadIndexFromFile(index_path, LoadOptions{.memory_map = true});
  VINDEX_AGREE_OR_RETURN(comm, index.status());
  ShardManifest m;
  const IndexInfo info = (*index)->info();
  m.family = info.family;
  m.dim = info.dim;
  m.metric = info.metric;
  m.description = info.description;
  m.total_vectors = info.size;
  return ShardedSearcher(&comm, *std::move(index), std::move(m),
                         /*replicated=*/true);
}

absl::Status ShardedSearcher::Search(MatrixView<const float> queries,
                                     const ShardedSearchOptions& options,
                                     SearchOutput out, Executor* executor,
                                     SearchTraffic* traffic) {
  Communicator& comm = *comm_;
  SearchTraffic moved;
  // Rank 0 checks the call and sends the parameters.
  WireParams wp;
  absl::Status local;
  if (comm.rank() == 0) {
    const SearchParams& p = options.params;
    wp = {queries.rows,
          queries.cols,
          std::max<int64_t>(1, options.batch_rows),
          options.allow_list != nullptr
              ? static_cast<int64_t>(options.allow_list->size())
              : -1,
          p.k,
          p.nprobe,
          p.ef,
          p.rerank_factor};
    if (queries.cols != manifest_.dim) {
      local = absl::InvalidArgumentError(absl::StrCat(
          "query dim ", queries.cols, " != index dim ", manifest_.dim));
    } else if (p.k < 1 || p.k > SearchParams::kMaxK) {
      local =
          absl::InvalidArgumentError(absl::StrCat("k ", p.k, " out of range"));
    } else if (out.ids.rows != queries.rows || out.ids.cols < p.k ||
               out.distances.rows != queries.rows || out.distances.cols < p.k) {
      local = absl::InvalidArgumentError(
          "search output must have one row per query and k columns");
    }
  }
  VINDEX_AGREE_OR_RETURN(comm, local);
  VINDEX_MPI_RETURN_IF_ERROR(comm.Broadcast(&wp, sizeof(wp), 0));
  // The allow-list, once.
  std::optional<IdFilter> filter;
  if (wp.allow_count >= 0) {
    std::vector<int64_t> allow;
    if (comm.rank() == 0) allow = *options.allow_list;
    allow.resize(wp.allow_count);
    VINDEX_MPI_RETURN_IF_ERROR(
        comm.Broadcast(allow.data(), wp.allow_count * sizeof(int64_t), 0));
    moved.bytes_received += comm.rank() == 0 ? 0 : wp.allow_count * 8;
    filter = IdFilter::AllowList(allow);
  }
  SearchParams params;
  params.k = wp.k;
  params.nprobe = wp.nprobe;
  params.ef = wp.ef;
  params.rerank_factor = wp.rerank_factor;
  params.filter = filter ? &*filter : nullptr;
  const int k = wp.k;
  const int64_t d = wp.cols;
  const bool empty_shard = index_->info().size == 0;
  const Metric metric = manifest_.metric;

  std::vector<float> batch;
  for (int64_t q0 = 0; q0 < wp.rows; q0 += wp.batch_rows) {
    const int64_t nq = std::min(wp.batch_rows, wp.rows - q0);
    ++moved.batches;
    batch.resize(nq * d);
    if (comm.rank() == 0) {
      for (int64_t i = 0; i < nq; ++i)
        std::memcpy(batch.data() + i * d, queries.row(q0 + i),
                    d * sizeof(float));
    }
    VINDEX_MPI_RETURN_IF_ERROR(
        comm.Broadcast(batch.data(), nq * d * sizeof(float), 0));
    if (comm.rank() == 0) {
      moved.bytes_sent += nq * d * sizeof(float) * (comm.size() - 1);
    } else {
      moved.bytes_received += nq * d * sizeof(float);
    }
    // This rank's part: every query of the batch (sharded), or its share of
    // the queries (replicated).
    int64_t b0 = 0, b1 = nq;
    if (replicated_) {
      b0 = nq * comm.rank() / comm.size();
      b1 = nq * (comm.rank() + 1) / comm.size();
    }
    const int64_t mine = b1 - b0;
    // Padded to 8 bytes so that every rank's block stays aligned on rank 0.
    std::string result((mine * k * 12 + 7) / 8 * 8, '\0');
    int64_t* ids = reinterpret_cast<int64_t*>(result.data());
    float* dists = reinterpret_cast<float*>(result.data() + mine * k * 8);
    if (empty_shard || mine == 0) {
      std::fill(ids, ids + mine * k, int64_t{-1});
      std::fill(dists, dists + mine * k, MissingDistance(metric));
      local = absl::OkStatus();
    } else {
      local = index_->Search(
          MatrixView<const float>(batch.data() + b0 * d, mine, d), params,
          SearchOutput{MatrixView<int64_t>(ids, mine, k),
                       MatrixView<float>(dists, mine, k)},
          executor);
    }
    VINDEX_AGREE_OR_RETURN(comm, local);
    std::string all;
    std::vector<int64_t> counts;
    VINDEX_MPI_RETURN_IF_ERROR(comm.GatherBytes(result, 0, &all, &counts));
    if (comm.rank() != 0) {
      moved.bytes_sent += result.size();
      continue;
    }
    moved.bytes_received += all.size() - result.size();
    SearchOutput dest{
        MatrixView<int64_t>(out.ids.row(q0), nq, k, out.ids.row_stride()),
        MatrixView<float>(out.distances.row(q0), nq, k,
                          out.distances.row_stride())};
    if (replicated_) {
      // Each rank answered its own rows: copy them into place.
      size_t off = 0;
      for (int r = 0; r < comm.size(); ++r) {
        const int64_t r0 = nq * r / comm.size();
        const int64_t rn = nq * (r + 1) / comm.size() - r0;
        const int64_t* rid = reinterpret_cast<const int64_t*>(all.data() + off);
        const float* rd =
            reinterpret_cast<const float*>(all.data() + off + rn * k * 8);
        for (int64_t i = 0; i < rn; ++i) {
          std::memcpy(dest.ids.row(r0 + i), rid + i * k, k * 8);
          std::memcpy(dest.distances.row(r0 + i), rd + i * k, k * 4);
        }
        off += counts[r];
      }
      continue;
    }
    std::vector<const int64_t*> pid(comm.size());
    std::vector<const float*> pd(comm.size());
    size_t off = 0;
    for (int r = 0; r < comm.size(); ++r) {
      pid[r] = reinterpret_cast<const int64_t*>(all.data() + off);
      pd[r] = reinterpret_cast<const float*>(all.data() + off + nq * k * 8);
      off += counts[r];
    }
    MergeTopK(metric, nq, k, pid, pd, dest);
  }
  if (traffic != nullptr) *traffic = moved;
  return absl::OkStatus();
}

}  // namespace vindex::mpi
