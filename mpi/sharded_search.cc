// Sharded and replicated batch search across ranks, and the top-k merge.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "agree_macros.h"
#include "core/parallel.h"
#include "index/brute_force.h"
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
  int32_t threads = 1;  // Rank 0's: fixes the coarse step's tiling.
  int32_t unused = 0;
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

// One batch of a sharded IVF search, routed. Every rank holds the batch
// (`batch`, nq x d). The coarse step is spread: rank r probes its slice
// [bounds[r], bounds[r+1]) with the shared quantizer and sends each rank
// owning some of a query's probed lists that query's position and those
// probes (slot and list; coarse scores only where the family reads them).
// Each rank then searches the whole batch with only the probes it was sent
// (the other rows probe nothing), so its index picks the scan one process
// picks for this batch and every distance is the one-process distance; the
// k best of each query it served go to rank 0, which merges into `dest`.
namespace {

// The rank-0 thread count `threads0` fixes the coarse step's tiling (see
// BruteForceKnn): GEMM over query tiles when nq >= kGemmMinQueries x
// threads0, a per-query scan otherwise. The batch is split into whole tiles
// so that each rank's probe of its slice, with its own `threads`, takes the
// same path and cuts the same tiles, and so rounds every coarse score as
// the whole batch would. Returns false where that cannot be guaranteed.
bool CoarseSlices(int64_t nq, int threads0, int size, int rank, int threads,
                  std::vector<int64_t>* bounds) {
  using ::vindex::internal::kGemmMinQueries;
  using ::vindex::internal::kGemmQueryTile;
  bounds->assign(size + 1, nq);
  (*bounds)[0] = 0;
  if (nq < kGemmMinQueries * threads0) {
    // Per-query scan: any split works while every slice also scans.
    for (int r = 1; r < size; ++r) (*bounds)[r] = nq * r / size;
    const int64_t mine = (*bounds)[rank + 1] - (*bounds)[rank];
    return mine < kGemmMinQueries * threads;
  }
  const int64_t tile = std::clamp<int64_t>((nq + threads0 - 1) / threads0,
                                           kGemmMinQueries, kGemmQueryTile);
  const int64_t tiles = (nq + tile - 1) / tile;
  for (int r = 1; r < size; ++r)
    (*bounds)[r] = std::min(nq, tiles * r / size * tile);
  const int64_t mine = (*bounds)[rank + 1] - (*bounds)[rank];
  if (mine == 0) return true;
  // The slice starts on a tile boundary and ends on one or at nq, so its
  // tiles are the batch's when it cuts them as long, or both cut one tile.
  const int64_t my_tile = std::clamp<int64_t>((mine + threads - 1) / threads,
                                              kGemmMinQueries, kGemmQueryTile);
  return mine >= kGemmMinQueries * threads &&
         (my_tile == tile || (my_tile >= mine && tile >= mine));
}

template <typename T>
void Append(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename T>
T Read(const char*& at) {
  T value;
  std::memcpy(&value, at, sizeof(value));
  at += sizeof(value);
  return value;
}

absl::Status RoutedIvfBatch(Communicator& comm, const Index& index,
                            const std::vector<int32_t>& list_shard,
                            bool send_coarse, int threads0, const float* batch,
                            int64_t nq, int64_t d, const SearchParams& params,
                            bool empty_shard, Metric metric, SearchOutput dest,
                            SearchTraffic* moved, Executor* executor) {
  const int size = comm.size();
  const int me = comm.rank();
  const int k = params.k;
  // Where each rank's coarse slice starts: whole tiles where every rank can
  // reproduce them, else rank 0 probes the whole batch.
  std::vector<int64_t> bounds;
  int64_t cannot_split[1] = {
      !CoarseSlices(nq, threads0, size, me,
                    ::vindex::internal::NumThreads(executor), &bounds)};
  VINDEX_RETURN_IF_ERROR(comm.MaxInt64(absl::MakeSpan(cannot_split)));
  if (cannot_split[0] != 0) {
    bounds.assign(size + 1, nq);
    bounds[0] = 0;
  }
  const int64_t s0 = bounds[me], sn = bounds[me + 1] - bounds[me];
  moved->coarse_queries += sn;
  std::vector<int64_t> probe;
  std::vector<float> coarse;
  int np = 0;
  absl::Status local =
      ProbeIvfLists(index, MatrixView<const float>(batch + s0 * d, sn, d),
                    params.nprobe, &probe, &coarse, &np, executor);
  VINDEX_AGREE_OR_RETURN(comm, local);

  // This rank's probes for the whole batch (-1: another rank's or none).
  std::vector<int64_t> my_probe(nq * np, -1);
  std::vector<float> my_coarse(nq * np, 0.0f);
  std::vector<char> served(nq, 0);
  // Per destination, per routed query: int32 position, int32 count c, then
  // c x (int32 slot, int32 list) and, if sent, c float coarse scores.
  std::vector<std::string> send(size);
  std::vector<int32_t> slots;
  for (int64_t j = 0; j < sn; ++j) {
    const int32_t pos = static_cast<int32_t>(s0 + j);
    const int64_t* row = probe.data() + j * np;
    const float* score = coarse.data() + j * np;
    for (int r = 0; r < size; ++r) {
      slots.clear();
      for (int p = 0; p < np; ++p) {
        if (row[p] >= 0 && list_shard[row[p]] == r) slots.push_back(p);
      }
      if (slots.empty()) continue;
      if (r == me) {
        served[pos] = 1;
        for (int32_t p : slots) {
          my_probe[pos * np + p] = row[p];
          my_coarse[pos * np + p] = score[p];
        }
        continue;
      }
      std::string& out = send[r];
      Append(out, pos);
      Append(out, static_cast<int32_t>(slots.size()));
      for (int32_t p : slots) {
        Append(out, p);
        Append(out, static_cast<int32_t>(row[p]));
      }
      if (send_coarse) {
        for (int32_t p : slots) Append(out, score[p]);
      }
    }
  }
  std::vector<std::string> recv;
  VINDEX_RETURN_IF_ERROR(comm.AllToAllBytes(send, &recv));
  for (int r = 0; r < size; ++r) {
    if (r == me) continue;
    moved->bytes_sent += send[r].size();
    moved->bytes_received += recv[r].size();
    const char* at = recv[r].data();
    const char* const end = at + recv[r].size();
    while (at < end) {
      const int32_t pos = Read<int32_t>(at);
      const int32_t c = Read<int32_t>(at);
      served[pos] = 1;
      slots.resize(c);
      for (int32_t i = 0; i < c; ++i) {
        slots[i] = Read<int32_t>(at);
        my_probe[pos * np + slots[i]] = Read<int32_t>(at);
      }
      if (send_coarse) {
        for (int32_t i = 0; i < c; ++i)
          my_coarse[pos * np + slots[i]] = Read<float>(at);
      }
    }
  }
  send.clear();
  recv.clear();

  // This rank's part: the k best of its lists for every query it serves.
  std::vector<int64_t> all_ids(nq * k, -1);
  std::vector<float> all_dists(nq * k, MissingDistance(metric));
  std::vector<int32_t> mine;
  for (int64_t i = 0; i < nq; ++i) {
    if (served[i]) mine.push_back(static_cast<int32_t>(i));
  }
  moved->routed_queries += static_cast<int64_t>(mine.size());
  local = absl::OkStatus();
  if (!empty_shard && !mine.empty()) {
    local = SearchIvfProbedLists(
        index, MatrixView<const float>(batch, nq, d), my_probe, my_coarse, np,
        params,
        SearchOutput{MatrixView<int64_t>(all_ids.data(), nq, k),
                     MatrixView<float>(all_dists.data(), nq, k)},
        executor);
  }
  for (int64_t i = 0; i < nq; ++i) {
    if (served[i]) continue;
    std::fill_n(all_ids.data() + i * k, k, int64_t{-1});
    std::fill_n(all_dists.data() + i * k, k, MissingDistance(metric));
  }
  VINDEX_AGREE_OR_RETURN(comm, local);
  // To rank 0: m, then m positions (padded to 8 bytes), m x k ids, m x k
  // distances. Rank 0 keeps its own part in place.
  std::string result;
  if (me != 0) {
    const int64_t m = static_cast<int64_t>(mine.size());
    result.reserve(8 + (m * 4 + 7) / 8 * 8 + m * k * 12 + 8);
    Append(result, m);
    for (int32_t pos : mine) Append(result, pos);
    result.resize((result.size() + 7) / 8 * 8, '\0');
    for (int32_t pos : mine)
      result.append(reinterpret_cast<const char*>(all_ids.data() + pos * k),
                    k * sizeof(int64_t));
    for (int32_t pos : mine)
      result.append(reinterpret_cast<const char*>(all_dists.data() + pos * k),
                    k * sizeof(float));
    result.resize((result.size() + 7) / 8 * 8, '\0');
  }
  std::string all;
  std::vector<int64_t> counts;
  VINDEX_RETURN_IF_ERROR(comm.GatherBytes(result, 0, &all, &counts));
  if (me != 0) {
    moved->bytes_sent += result.size();
    return absl::OkStatus();
  }
  moved->bytes_received += all.size();
  // Each other rank's answers spread over the batch (missing where it did
  // not serve the query).
  std::vector<int64_t> part_ids(size > 1 ? (size - 1) * nq * k : 0, -1);
  std::vector<float> part_dists(part_ids.size(), MissingDistance(metric));
  std::vector<const int64_t*> pid(size);
  std::vector<const float*> pd(size);
  pid[0] = all_ids.data();
  pd[0] = all_dists.data();
  size_t off = counts[0];
  for (int r = 1; r < size; ++r) {
    const char* at = all.data() + off;
    const int64_t m = Read<int64_t>(at);
    const char* pos_at = at;
    at += (m * 4 + 7) / 8 * 8;
    const char* ids_at = at;
    const char* dists_at = at + m * k * sizeof(int64_t);
    int64_t* to_ids = part_ids.data() + (r - 1) * nq * k;
    float* to_dists = part_dists.data() + (r - 1) * nq * k;
    for (int64_t j = 0; j < m; ++j) {
      const int32_t pos = Read<int32_t>(pos_at);
      std::memcpy(to_ids + pos * k, ids_at + j * k * 8, k * 8);
      std::memcpy(to_dists + pos * k, dists_at + j * k * 4, k * 4);
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
          p.rerank_factor,
          ::vindex::internal::NumThreads(executor)};
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
  // IVF-Flat scans compute every distance afresh and never read the coarse
  // scores, so they are not sent.
  const bool send_coarse = manifest_.family != IndexFamily::kIvfFlat;
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
    VINDEX_RETURN_IF_ERROR(
        comm.Broadcast(batch.data(), nq * d * sizeof(float), 0));
    if (comm.rank() == 0) {
      moved.bytes_sent += nq * d * sizeof(float) * (comm.size() - 1);
    } else {
      moved.bytes_received += nq * d * sizeof(float);
    }
    if (routed) {
      SearchOutput dest;
      if (comm.rank() == 0) {
        dest = SearchOutput{
            MatrixView<int64_t>(out.ids.row(q0), nq, k, out.ids.row_stride()),
            MatrixView<float>(out.distances.row(q0), nq, k,
                              out.distances.row_stride())};
      }
      VINDEX_RETURN_IF_ERROR(
          RoutedIvfBatch(comm, *index_, manifest_.list_shard, send_coarse,
                         wp.threads, batch.data(), nq, d, params, empty_shard,
                         metric, dest, &moved, executor));
      continue;
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
