// Sharded and replicated batch search across ranks, and the top-k merge.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "agree_macros.h"
#include "shard_loading.h"
#include "vindex/filter.h"
#include "vindex/ivf_quantizer.h"
#include "vindex/mpi/distributed.h"

namespace vindex::mpi {
namespace {

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

// One batch of a sharded IVF search, routed: rank 0 runs the coarse step
// (`batch`, nq x d, significant on rank 0) and sends each rank only the
// queries that probe a list it owns, with those probes (the others -1) and
// their coarse scores; each rank scans them and sends back their k best;
// rank 0 merges into `dest`. A shard searches a batch of nq rows (the rows
// it was not sent probe nothing), so its index picks the scan one process
// picks for this batch, and every distance is the one-process distance.
namespace {

absl::Status RoutedIvfBatch(Communicator& comm, const Index& index,
                            const std::vector<int32_t>& list_shard,
                            const float* batch, int64_t nq, int64_t d,
                            const SearchParams& params, bool empty_shard,
                            Metric metric, SearchOutput dest,
                            SearchTraffic* moved, Executor* executor) {
  const int size = comm.size();
  const int k = params.k;
  std::vector<std::string> send(size);
  std::vector<std::vector<int32_t>> routed(size);  // Rank 0: positions.
  absl::Status local;
  if (comm.rank() == 0) {
    std::vector<int64_t> probe;
    std::vector<float> coarse;
    int np = 0;
    local = ProbeIvfLists(index, MatrixView<const float>(batch, nq, d),
                          params.nprobe, &probe, &coarse, &np, executor);
    if (local.ok()) {
      // Per destination: int32 nprobe, then per routed query: int32
      // position, d floats, nprobe int32 lists (-1: another rank's or
      // none), nprobe float coarse scores.
      for (int r = 0; r < size; ++r)
        send[r].append(reinterpret_cast<const char*>(&np), sizeof(np));
      std::vector<int32_t> lists(np);
      for (int64_t i = 0; i < nq; ++i) {
        const int64_t* row = probe.data() + i * np;
        for (int r = 0; r < size; ++r) {
          bool owns = false;
          for (int p = 0; p < np; ++p) {
            const bool mine = row[p] >= 0 && list_shard[row[p]] == r;
            lists[p] = mine ? static_cast<int32_t>(row[p]) : -1;
            owns = owns || mine;
          }
          if (!owns) continue;
          const int32_t pos = static_cast<int32_t>(i);
          routed[r].push_back(pos);
          std::string& out = send[r];
          out.append(reinterpret_cast<const char*>(&pos), sizeof(pos));
          out.append(reinterpret_cast<const char*>(batch + i * d),
                     d * sizeof(float));
          out.append(reinterpret_cast<const char*>(lists.data()),
                     np * sizeof(int32_t));
          out.append(reinterpret_cast<const char*>(coarse.data() + i * np),
                     np * sizeof(float));
        }
      }
    }
  }
  VINDEX_AGREE_OR_RETURN(comm, local);
  std::vector<std::string> recv;
  VINDEX_RETURN_IF_ERROR(comm.AllToAllBytes(send, &recv));
  if (comm.rank() == 0) {
    for (int r = 1; r < size; ++r) moved->bytes_sent += send[r].size();
  } else {
    moved->bytes_received += recv[0].size();
  }
  send.clear();

  // This rank's part: the k best of its lists for each query it was sent.
  const std::string& in = recv[0];
  int32_t np = 0;
  if (in.size() >= sizeof(np)) std::memcpy(&np, in.data(), sizeof(np));
  const size_t record =
      sizeof(int32_t) + d * sizeof(float) + np * (sizeof(int32_t) + 4);
  const int64_t m =
      in.size() < sizeof(np) ? 0 : (in.size() - sizeof(np)) / record;
  std::string result((m * k * 12 + 7) / 8 * 8, '\0');
  int64_t* ids = reinterpret_cast<int64_t*>(result.data());
  float* dists = reinterpret_cast<float*>(result.data() + m * k * 8);
  if (empty_shard || m == 0) {
    std::fill(ids, ids + m * k, int64_t{-1});
    std::fill(dists, dists + m * k, MissingDistance(metric));
  } else {
    std::vector<int32_t> pos(m);
    std::vector<float> queries(nq * d);
    std::vector<int64_t> probe(nq * np, -1);
    std::vector<float> coarse(nq * np, 0.0f);
    const char* at = in.data() + sizeof(np);
    for (int64_t j = 0; j < m; ++j, at += record) {
      std::memcpy(&pos[j], at, sizeof(int32_t));
      const int64_t i = pos[j];
      std::memcpy(queries.data() + i * d, at + 4, d * sizeof(float));
      const char* lp = at + 4 + d * sizeof(float);
      for (int p = 0; p < np; ++p) {
        int32_t l;
        std::memcpy(&l, lp + p * 4, 4);
        probe[i * np + p] = l;
      }
      std::memcpy(coarse.data() + i * np, lp + np * 4, np * sizeof(float));
    }
    // Rows not sent here: a copy of a sent query (a valid row), no probes.
    std::vector<bool> sent(nq, false);
    for (int32_t i : pos) sent[i] = true;
    for (int64_t i = 0; i < nq; ++i) {
      if (!sent[i])
        std::memcpy(queries.data() + i * d, queries.data() + pos[0] * d,
                    d * sizeof(float));
    }
    std::vector<int64_t> all_ids(nq * k);
    std::vector<float> all_dists(nq * k);
    local = SearchIvfProbedLists(
        index, MatrixView<const float>(queries.data(), nq, d), probe, coarse,
        np, params,
        SearchOutput{MatrixView<int64_t>(all_ids.data(), nq, k),
                     MatrixView<float>(all_dists.data(), nq, k)},
        executor);
    for (int64_t j = 0; j < m; ++j) {
      std::memcpy(ids + j * k, all_ids.data() + pos[j] * k, k * 8);
      std::memcpy(dists + j * k, all_dists.data() + pos[j] * k, k * 4);
    }
  }
  VINDEX_AGREE_OR_RETURN(comm, local);
  std::string all;
  std::vector<int64_t> counts;
  VINDEX_RETURN_IF_ERROR(comm.GatherBytes(result, 0, &all, &counts));
  if (comm.rank() != 0) {
    moved->bytes_sent += result.size();
    return absl::OkStatus();
  }
  moved->bytes_received += all.size() - result.size();
  // Each rank's answers spread over the batch (missing where not routed).
  std::vector<int64_t> part_ids(size * nq * k, -1);
  std::vector<float> part_dists(size * nq * k, MissingDistance(metric));
  std::vector<const int64_t*> pid(size);
  std::vector<const float*> pd(size);
  size_t off = 0;
  for (int r = 0; r < size; ++r) {
    const int64_t rm = routed[r].size();
    const int64_t* rid = reinterpret_cast<const int64_t*>(all.data() + off);
    const float* rd =
        reinterpret_cast<const float*>(all.data() + off + rm * k * 8);
    int64_t* to_ids = part_ids.data() + r * nq * k;
    float* to_dists = part_dists.data() + r * nq * k;
    for (int64_t j = 0; j < rm; ++j) {
      std::memcpy(to_ids + routed[r][j] * k, rid + j * k, k * 8);
      std::memcpy(to_dists + routed[r][j] * k, rd + j * k, k * 4);
    }
    pid[r] = to_ids;
    pd[r] = to_dists;
    off += counts[r];
  }
  MergeTopK(metric, nq, k, pid, pd, dest);
  return absl::OkStatus();
}

}  // namespace

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
  VINDEX_RETURN_IF_ERROR(comm.BroadcastString(&bytes, 0));
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
  VINDEX_RETURN_IF_ERROR(comm.Broadcast(&wp, sizeof(wp), 0));
  // The allow-list, once.
  std::optional<IdFilter> filter;
  if (wp.allow_count >= 0) {
    std::vector<int64_t> allow;
    if (comm.rank() == 0) allow = *options.allow_list;
    allow.resize(wp.allow_count);
    VINDEX_RETURN_IF_ERROR(
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

  // Sharded IVF: each query goes only to the ranks owning a list it probes.
  const bool routed = !replicated_ && !manifest_.list_shard.empty();
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
    if (routed) {
      SearchOutput dest;
      if (comm.rank() == 0) {
        dest = SearchOutput{
            MatrixView<int64_t>(out.ids.row(q0), nq, k, out.ids.row_stride()),
            MatrixView<float>(out.distances.row(q0), nq, k,
                              out.distances.row_stride())};
      }
      VINDEX_RETURN_IF_ERROR(RoutedIvfBatch(
          comm, *index_, manifest_.list_shard, batch.data(), nq, d, params,
          empty_shard, metric, dest, &moved, executor));
      continue;
    }
    VINDEX_RETURN_IF_ERROR(
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
    VINDEX_RETURN_IF_ERROR(comm.GatherBytes(result, 0, &all, &counts));
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
