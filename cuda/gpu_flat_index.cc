#include "gpu_flat_index.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/allocation.h"
#include "core/filter_plan.h"
#include "core/metric_space.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "cuda_status.h"
#include "index/brute_force.h"
#include "index/flat/flat_rows.h"
#include "index/gpu_factory.h"
#include "io/format.h"
#include "linalg/gemm.h"
#include "select_k.h"

namespace vindex::cuda {
namespace {

// Query rows per SGEMM tile.
constexpr int64_t kQueryTile = 2048;
// Bytes of one distance tile (query tile x vector tile floats): an eighth of
// the memory cap, within [1 MiB, 1 GiB].
uint64_t DistanceTileBytes(const DeviceAllocator& a) {
  return std::clamp<uint64_t>(a.cap() / 8, uint64_t{1} << 20,
                              uint64_t{1} << 30);
}

// Whether GEMM and selection of successive tiles overlap on two streams
// (default); VINDEX_GPU_OVERLAP=0 runs them in order on one stream.
bool OverlapTiles() {
  const char* env = std::getenv("VINDEX_GPU_OVERLAP");
  return env == nullptr || std::strcmp(env, "0") != 0;
}

// A CUDA event destroyed with its owner.
struct Event {
  cudaEvent_t e = nullptr;
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() {
    if (e != nullptr) (void)cudaEventDestroy(e);
  }
};

// Waits for a stream when it goes out of scope (also on error returns), so
// that no queued work still reads buffers going back to the allocator.
struct SyncOnExit {
  cudaStream_t stream;
  ~SyncOnExit() { (void)cudaStreamSynchronize(stream); }
};

}  // namespace

absl::Status GpuFlatIndex::CheckCreate(const FlatOptions& options) {
  VINDEX_RETURN_IF_ERROR(internal::CheckDimMetric(options.dim, options.metric));
  if (DeviceCount() == 0) {
    return absl::FailedPreconditionError(
        "no usable GPU (vindex::CudaDeviceCount() == 0); use Device::kCpu or "
        "Device::kAuto");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<GpuFlatIndex>> GpuFlatIndex::Create(
    const FlatOptions& options) {
  VINDEX_RETURN_IF_ERROR(CheckCreate(options));
  VINDEX_ASSIGN_OR_RETURN(GpuContext * ctx, GpuContext::Default(0));
  FlatOptions o = options;
  o.device = Device::kGpu;
  return std::unique_ptr<GpuFlatIndex>(new GpuFlatIndex(o, ctx));
}

absl::StatusOr<std::unique_ptr<GpuFlatIndex>> GpuFlatIndex::CreateWithMemoryCap(
    const FlatOptions& options, uint64_t memory_cap_bytes) {
  VINDEX_RETURN_IF_ERROR(CheckCreate(options));
  VINDEX_ASSIGN_OR_RETURN(std::unique_ptr<GpuContext> ctx,
                          GpuContext::Create(0, memory_cap_bytes));
  FlatOptions o = options;
  o.device = Device::kGpu;
  std::unique_ptr<GpuFlatIndex> index(new GpuFlatIndex(o, ctx.get()));
  index->own_ctx_ = std::move(ctx);
  return index;
}

IndexInfo GpuFlatIndex::info() const {
  std::shared_lock lock(mu_);
  IndexInfo info;
  info.family = IndexFamily::kFlat;
  info.device = Device::kGpu;
  info.metric = options_.metric;
  info.dim = options_.dim;
  info.size = static_cast<int64_t>(ids_.size());
  info.trained = true;
  info.memory_bytes = vectors_.capacity() * sizeof(float) +
                      sq_norms_.capacity() * sizeof(float) +
                      ids_.capacity() * sizeof(int64_t) + row_of_.bytes() +
                      d_vectors_.size() + d_norms_.size();
  info.description = "Flat";
  return info;
}

Capabilities GpuFlatIndex::capabilities() const {
  return internal::FlatCapabilities();
}

absl::Status GpuFlatIndex::Train(MatrixView<const float> samples, Executor*) {
  return internal::CheckMatrix(samples, options_.dim, "training vector",
                               /*allow_empty=*/true);
}

absl::Status GpuFlatIndex::Add(MatrixView<const float> vectors,
                               absl::Span<const int64_t> ids, Executor*) {
  VINDEX_ASSIGN_OR_RETURN(
      internal::NewRows prepared,
      internal::PrepareNewRows(vectors, ids, options_.dim, options_.metric));
  const std::vector<float>& rows = prepared.vectors;
  const std::vector<float>& norms = prepared.sq_norms;
  const int64_t d = options_.dim;

  std::unique_lock lock(mu_);
  VINDEX_RETURN_IF_ERROR(internal::CheckIdsAbsent(row_of_, ids));
  const int64_t old_rows = static_cast<int64_t>(ids_.size());
  const int64_t new_rows = old_rows + vectors.rows;
  if (new_rows >= (int64_t{1} << 31) - 1) {
    return absl::InvalidArgumentError(
        "a GPU Flat index holds at most 2^31 - 2 vectors");
  }
  VINDEX_RETURN_IF_ERROR(internal::TryAllocate("growing the index", [&] {
    vectors_.reserve(vectors_.size() + rows.size());
    sq_norms_.reserve(sq_norms_.size() + norms.size());
    ids_.reserve(ids_.size() + ids.size());
  }));
  VINDEX_RETURN_IF_ERROR(
      row_of_.TryReserve(row_of_.size() + ids.size(), "growing the index"));
  {
    // Device first: on failure nothing visible has changed.
    std::lock_guard<std::mutex> gpu_lock(ctx_->mu());
    VINDEX_RETURN_IF_ERROR(ctx_->Activate());
    DeviceBuffer grown_vectors, grown_norms;
    const bool grow = new_rows > capacity_;
    int64_t new_capacity = capacity_;
    if (grow) {
      new_capacity = std::max<int64_t>({new_rows, 2 * capacity_, 1024});
      new_capacity = std::min<int64_t>(new_capacity, (int64_t{1} << 31) - 2);
      VINDEX_ASSIGN_OR_RETURN(
          grown_vectors,
          ctx_->allocator().Allocate(new_capacity * d * sizeof(float)));
      VINDEX_ASSIGN_OR_RETURN(grown_norms, ctx_->allocator().Allocate(
                                               new_capacity * sizeof(float)));
      if (old_rows > 0) {
        VINDEX_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(
            grown_vectors.get(), d_vectors_.get(), old_rows * d * sizeof(float),
            cudaMemcpyDeviceToDevice, ctx_->stream()));
        VINDEX_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(
            grown_norms.get(), d_norms_.get(), old_rows * sizeof(float),
            cudaMemcpyDeviceToDevice, ctx_->stream()));
      }
    }
    float* dv = grow ? grown_vectors.as<float>() : d_vectors_.as<float>();
    float* dn = grow ? grown_norms.as<float>() : d_norms_.as<float>();
    VINDEX_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(
        dv + old_rows * d, rows.data(), rows.size() * sizeof(float),
        cudaMemcpyHostToDevice, ctx_->stream()));
    VINDEX_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(
        dn + old_rows, norms.data(), norms.size() * sizeof(float),
        cudaMemcpyHostToDevice, ctx_->stream()));
    VINDEX_RETURN_IF_ERROR(ctx_->Synchronize());
    if (grow) {
      d_vectors_ = std::move(grown_vectors);
      d_norms_ = std::move(grown_norms);
      capacity_ = new_capacity;
    }
  }
  // Nothing below allocates, so the index cannot be left half-updated.
  vectors_.insert(vectors_.end(), rows.begin(), rows.end());
  sq_norms_.insert(sq_norms_.end(), norms.begin(), norms.end());
  for (size_t i = 0; i < ids.size(); ++i) {
    ids_.push_back(ids[i]);
    row_of_.Insert(ids[i], old_rows + static_cast<int64_t>(i));
  }
  return absl::OkStatus();
}

absl::Status GpuFlatIndex::Search(MatrixView<const float> queries,
                                  const SearchParams& params, SearchOutput out,
                                  Executor* executor) const {
  VINDEX_RETURN_IF_ERROR(
      internal::CheckSearch(queries, params, out, options_.dim));
  const Metric metric = options_.metric;
  const int k = params.k;
  std::vector<float> q;
  VINDEX_RETURN_IF_ERROR(internal::TryAllocate("copying queries", [&] {
    return internal::CopyRows(queries, metric == Metric::kCosine, &q, "query");
  }));
  std::shared_lock lock(mu_);
  if (params.filter != nullptr && ids_.empty()) {
    return absl::FailedPreconditionError(
        "search with a filter on an empty index");
  }
  internal::RowMask mask;
  if (params.filter != nullptr) {
    mask = internal::BuildRowMask(*params.filter, ids_, row_of_);
  }
  const int64_t nq = queries.rows;
  if (ids_.empty()) {
    for (int64_t i = 0; i < nq; ++i) {
      for (int j = 0; j < k; ++j) {
        out.ids.at(i, j) = -1;
        out.distances.at(i, j) = internal::MissingDistance(metric);
      }
    }
    return absl::OkStatus();
  }
  const internal::Score score = metric == Metric::kL2
                                    ? internal::Score::kL2
                                    : internal::Score::kNegativeInnerProduct;
  if (k > internal::kGpuSelectMaxK) {
    // Beyond the GPU k-selection: the CPU exact search over the host mirror.
    internal::BruteForceRows rows;
    rows.data = vectors_.data();
    rows.rows = static_cast<int64_t>(ids_.size());
    rows.dim = options_.dim;
    rows.stride = options_.dim;
    rows.sq_norms = sq_norms_.data();
    rows.ids = ids_.data();
    rows.mask = params.filter != nullptr ? &mask : nullptr;
    internal::BruteForceOutput bout{out.ids.data, out.ids.row_stride(),
                                    out.distances.data,
                                    out.distances.row_stride()};
    internal::BruteForceKnn(rows, score,
                            MatrixView<const float>(q.data(), nq, options_.dim),
                            k, bout, executor);
  } else {
    VINDEX_RETURN_IF_ERROR(SearchDevice(
        q.data(), nq, k, params.filter != nullptr ? mask.words() : nullptr,
        out.ids.data, out.ids.row_stride(), out.distances.data,
        out.distances.row_stride()));
  }
  for (int64_t i = 0; i < nq; ++i) {
    internal::ResultsToNatural(metric, out.ids.row(i), out.distances.row(i), k);
  }
  return absl::OkStatus();
}

absl::Status GpuFlatIndex::SearchDevice(const float* q, int64_t nq, int k,
                                        const uint64_t* mask_words,
                                        int64_t* out_ids, int64_t ids_stride,
                                        float* out_scores,
                                        int64_t scores_stride) const {
  const int64_t n = static_cast<int64_t>(ids_.size());
  const int64_t d = options_.dim;
  const bool l2 = options_.metric == Metric::kL2;
  const bool radix = UseRadix(internal::GpuSelectAlgo::kAuto, k);
  std::vector<float> qnorms(nq, 0.0f);
  if (l2) linalg::RowSquaredNorms(q, nq, d, d, qnorms.data());

  std::lock_guard<std::mutex> gpu_lock(ctx_->mu());
  VINDEX_RETURN_IF_ERROR(ctx_->Activate());
  DeviceAllocator& alloc = ctx_->allocator();
  // With overlap, GEMM of tile t+1 (stream s0) runs while tile t is
  // selected (stream s1), in two distance buffers.
  const bool overlap = OverlapTiles();
  const int nbuf = overlap ? 2 : 1;
  cudaStream_t s0 = ctx_->stream();
  cudaStream_t s1 = overlap ? ctx_->aux_stream() : s0;
  // Tile shape: query tile qt x vector tile nt distances per buffer. The
  // candidates (qt x width, kept until the merge) grow with the number of
  // vector tiles, so qt is halved until they fit the same budget.
  const uint64_t budget = DistanceTileBytes(alloc);
  int64_t qt = std::min(nq, kQueryTile);
  int64_t nt = 0, ntiles = 0, chunk = 0, chunks_per_tile = 0, width = 0;
  for (;;) {
    nt = static_cast<int64_t>(budget / nbuf / (static_cast<uint64_t>(qt) * 4));
    nt = std::min<int64_t>(std::max<int64_t>(nt / 128 * 128, 128), n);
    ntiles = (n + nt - 1) / nt;
    // Chunks per tile are fixed by the full tile; a shorter last tile leaves
    // its unused candidate slots at id -1.
    chunk = ChooseChunk(*ctx_, qt, nt, k, radix);
    chunks_per_tile = (nt + chunk - 1) / chunk;
    width = ntiles * chunks_per_tile * k;
    if (static_cast<uint64_t>(qt) * width * 8 <= budget || qt == 1) break;
    qt = (qt + 1) / 2;
  }

  VINDEX_ASSIGN_OR_RETURN(DeviceBuffer d_q,
                          alloc.Allocate(qt * d * sizeof(float)));
  DeviceBuffer d_tile[2];
  for (int b = 0; b < nbuf; ++b) {
    VINDEX_ASSIGN_OR_RETURN(d_tile[b], alloc.Allocate(qt * nt * sizeof(float)));
  }
  VINDEX_ASSIGN_OR_RETURN(DeviceBuffer cand_dist,
                          alloc.Allocate(qt * width * sizeof(float)));
  VINDEX_ASSIGN_OR_RETURN(DeviceBuffer cand_idx,
                          alloc.Allocate(qt * width * sizeof(int32_t)));
  VINDEX_ASSIGN_OR_RETURN(DeviceBuffer out_dist,
                          alloc.Allocate(qt * k * sizeof(float)));
  VINDEX_ASSIGN_OR_RETURN(DeviceBuffer out_idx,
                          alloc.Allocate(qt * k * sizeof(int32_t)));
  DeviceBuffer d_mask;
  if (mask_words != nullptr) {
    const size_t words = static_cast<size_t>((n + 63) / 64);
    VINDEX_ASSIGN_OR_RETURN(d_mask, alloc.Allocate(words * sizeof(uint64_t)));
    VINDEX_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(d_mask.get(), mask_words, words * sizeof(uint64_t),
                        cudaMemcpyHostToDevice, ctx_->stream()));
  }
  // Declared after every device buffer: runs first on exit.
  SyncOnExit sync_s1{s1};
  Event gemm_done[2], select_done[2];
  bool select_pending[2] = {false, false};
  if (overlap) {
    for (int b = 0; b < 2; ++b) {
      VINDEX_CUDA_RETURN_IF_ERROR(
          cudaEventCreateWithFlags(&gemm_done[b].e, cudaEventDisableTiming));
      VINDEX_CUDA_RETURN_IF_ERROR(
          cudaEventCreateWithFlags(&select_done[b].e, cudaEventDisableTiming));
    }
  }
  std::vector<int32_t> h_idx(qt * k);
  std::vector<float> h_dist(qt * k);
  // L2: the GEMM gives -2 q.x and the selection adds ||x||^2; ||q||^2 is
  // added on the host. Inner product and cosine: -q.x.
  const float alpha = l2 ? -2.0f : -1.0f;
  const float beta = 0.0f;
  for (int64_t q0 = 0; q0 < nq; q0 += qt) {
    const int64_t m = std::min(qt, nq - q0);
    VINDEX_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(d_q.get(), q + q0 * d, m * d * sizeof(float),
                        cudaMemcpyHostToDevice, ctx_->stream()));
    VINDEX_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(
        cand_idx.get(), 0xff, m * width * sizeof(int32_t), ctx_->stream()));
    for (int64_t t = 0; t < ntiles; ++t) {
      const int64_t x0 = t * nt;
      const int64_t len = std::min(nt, n - x0);
      const int b = static_cast<int>(t % nbuf);
      if (overlap && select_pending[b]) {
        // The selection that last read this buffer must finish first.
        VINDEX_CUDA_RETURN_IF_ERROR(
            cudaStreamWaitEvent(s0, select_done[b].e, 0));
      }
      // Row-major D (m x len) = Q (m x d) . X_tile^T, as column-major
      // D^T (len x m) = X_tile (len x d, op T of its d x len view) . Q^T.
      VINDEX_CUBLAS_RETURN_IF_ERROR(cublasSgemm(
          ctx_->cublas(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(len),
          static_cast<int>(m), static_cast<int>(d), &alpha,
          d_vectors_.as<float>() + x0 * d, static_cast<int>(d), d_q.as<float>(),
          static_cast<int>(d), &beta, d_tile[b].as<float>(),
          static_cast<int>(len)));
      if (overlap) {
        VINDEX_CUDA_RETURN_IF_ERROR(cudaEventRecord(gemm_done[b].e, s0));
        VINDEX_CUDA_RETURN_IF_ERROR(cudaStreamWaitEvent(s1, gemm_done[b].e, 0));
      }
      SelectKArgs args;
      args.dist = d_tile[b].as<float>();
      args.rows = m;
      args.cols = len;
      args.ld = len;
      args.col_bias = l2 ? d_norms_.as<float>() + x0 : nullptr;
      args.col_mask = d_mask.as<uint64_t>();
      args.col_offset = x0;
      args.chunk = chunk;
      args.k = k;
      args.out_dist = cand_dist.as<float>() + t * chunks_per_tile * k;
      args.out_idx = cand_idx.as<int32_t>() + t * chunks_per_tile * k;
      args.out_ld = width;
      VINDEX_RETURN_IF_ERROR(LaunchSelectPass(s1, args, radix));
      if (overlap) {
        VINDEX_CUDA_RETURN_IF_ERROR(cudaEventRecord(select_done[b].e, s1));
        select_pending[b] = true;
      }
    }
    if (overlap) {
      // Join: every selection of this query tile before the merge (s1 runs
      // in order, so the last recorded event covers all of them).
      const int last = static_cast<int>((ntiles - 1) % nbuf);
      VINDEX_CUDA_RETURN_IF_ERROR(
          cudaStreamWaitEvent(s0, select_done[last].e, 0));
    }
    const float* res_dist = cand_dist.as<float>();
    const int32_t* res_idx = cand_idx.as<int32_t>();
    if (width != k) {
      SelectKArgs merge;
      merge.dist = cand_dist.as<float>();
      merge.rows = m;
      merge.cols = width;
      merge.ld = width;
      merge.in_idx = cand_idx.as<int32_t>();
      merge.chunk = width;
      merge.k = k;
      merge.out_dist = out_dist.as<float>();
      merge.out_idx = out_idx.as<int32_t>();
      merge.out_ld = k;
      VINDEX_RETURN_IF_ERROR(LaunchSelectPass(s0, merge, radix));
      res_dist = out_dist.as<float>();
      res_idx = out_idx.as<int32_t>();
    }
    VINDEX_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(h_idx.data(), res_idx, m * k * sizeof(int32_t),
                        cudaMemcpyDeviceToHost, ctx_->stream()));
    VINDEX_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(h_dist.data(), res_dist, m * k * sizeof(float),
                        cudaMemcpyDeviceToHost, ctx_->stream()));
    VINDEX_RETURN_IF_ERROR(ctx_->Synchronize());
    for (int64_t i = 0; i < m; ++i) {
      int64_t* ids_row = out_ids + (q0 + i) * ids_stride;
      float* score_row = out_scores + (q0 + i) * scores_stride;
      for (int j = 0; j < k; ++j) {
        const int32_t row = h_idx[i * k + j];
        if (row < 0 || row >= n) {
          ids_row[j] = -1;
          score_row[j] = std::numeric_limits<float>::infinity();
        } else {
          ids_row[j] = ids_[row];
          score_row[j] = h_dist[i * k + j] + qnorms[q0 + i];
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status GpuFlatIndex::Remove(absl::Span<const int64_t> ids) {
  VINDEX_RETURN_IF_ERROR(internal::CheckNoRepeats(ids, "Remove"));
  std::unique_lock lock(mu_);
  VINDEX_RETURN_IF_ERROR(internal::CheckIdsPresent(row_of_, ids));
  // Plan the moves (last row into each hole) on copies, apply them on the
  // device, and only then commit the host state.
  std::vector<int64_t> new_ids;
  internal::IdMap<int64_t> new_row_of;
  std::vector<std::pair<int64_t, int64_t>> moves;  // (to, from)
  VINDEX_RETURN_IF_ERROR(internal::TryAllocate("removing vectors", [&] {
    new_ids = ids_;
    new_row_of = row_of_;
    moves.reserve(ids.size());
  }));
  internal::CompactRemoving(
      ids, new_ids, new_row_of,
      [&](int64_t to, int64_t from) { moves.emplace_back(to, from); });
  const int64_t d = options_.dim;
  if (!moves.empty()) {
    std::lock_guard<std::mutex> gpu_lock(ctx_->mu());
    VINDEX_RETURN_IF_ERROR(ctx_->Activate());
    for (const auto& [to, from] : moves) {
      VINDEX_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(
          d_vectors_.as<float>() + to * d, d_vectors_.as<float>() + from * d,
          d * sizeof(float), cudaMemcpyDeviceToDevice, ctx_->stream()));
      VINDEX_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(
          d_norms_.as<float>() + to, d_norms_.as<float>() + from, sizeof(float),
          cudaMemcpyDeviceToDevice, ctx_->stream()));
    }
    VINDEX_RETURN_IF_ERROR(ctx_->Synchronize());
  }
  for (const auto& [to, from] : moves) {
    std::memcpy(vectors_.data() + to * d, vectors_.data() + from * d,
                d * sizeof(float));
    sq_norms_[to] = sq_norms_[from];
  }
  vectors_.resize(new_ids.size() * d);
  sq_norms_.resize(new_ids.size());
  ids_.swap(new_ids);
  std::swap(row_of_, new_row_of);
  return absl::OkStatus();
}

absl::Status GpuFlatIndex::GetVectors(absl::Span<const int64_t> ids,
                                      MatrixView<float> out) const {
  VINDEX_RETURN_IF_ERROR(internal::CheckVectorsOutput(ids, out, options_.dim));
  std::shared_lock lock(mu_);
  VINDEX_RETURN_IF_ERROR(internal::CheckIdsPresent(row_of_, ids));
  internal::CopyRowsOut(row_of_, vectors_.data(), options_.dim, ids, out);
  return absl::OkStatus();
}

absl::Status GpuFlatIndex::Save(Writer& writer) const {
  // The CPU Flat format: a saved GPU index loads as a CPU FlatIndex.
  std::shared_lock lock(mu_);
  return internal::SaveFlat(writer, options_.dim, options_.metric, ids_,
                            vectors_.data());
}

}  // namespace vindex::cuda
