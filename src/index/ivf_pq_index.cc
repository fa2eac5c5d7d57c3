#include "index/ivf_pq_index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/parallel.h"
#include "core/status_macros.h"
#include "core/topk.h"
#include "kernels/kernels.h"
#include "kernels/pq_kernels.h"
#include "linalg/gemm.h"

namespace vindex {
namespace {

using kernels::kFastScanBlock;

// List entries scored per kernel call.
constexpr int64_t kScanChunk = 1024;

inline int64_t LocationKey(int64_t list, int64_t pos) {
  return list << 32 | pos;
}

// The largest 16-bit sum whose score bias + sum * inv_scale can still be
// <= threshold (65535 when any can). Sums above it need no float score.
inline uint32_t SumBound(float threshold, float bias, float inv_scale) {
  if (!(threshold < std::numeric_limits<float>::infinity()) ||
      inv_scale <= 0.0f) {
    return 65535;
  }
  const float s = (threshold - bias) / inv_scale;
  if (s < 0.0f) return 0;  // Sum 0 may still tie after rounding: keep it.
  if (s >= 65534.0f) return 65535;
  // One more than the quotient absorbs the rounding of the division; the
  // exact float test is still made on every sum kept.
  return static_cast<uint32_t>(s) + 1;
}

}  // namespace

IvfPqIndex::IvfPqIndex(const internal::IvfConfig& config,
                       const IvfPqOptions& options)
    : IvfIndexBase(config,
                   options.pq_bits == 4 ? internal::CodeLayout::kFastScan4
                                        : internal::CodeLayout::kBytes,
                   options.pq_m, options.keep_raw_vectors ? options.dim : 0),
      options_(options) {}

absl::StatusOr<std::unique_ptr<IvfPqIndex>> IvfPqIndex::Create(
    const IvfPqOptions& o) {
  VINDEX_RETURN_IF_ERROR(internal::CheckIvfOptions(
      o.dim, o.metric, o.device, o.nlist, o.default_nprobe, o.kmeans_iterations,
      o.max_points_per_centroid));
  train::ProductQuantizer pq;
  VINDEX_RETURN_IF_ERROR(pq.Init(o.dim, o.pq_m, o.pq_bits));
  if (o.default_rerank_factor < 0) {
    return absl::InvalidArgumentError("default_rerank_factor < 0");
  }
  if (o.default_rerank_factor > 0 && !o.keep_raw_vectors) {
    return absl::InvalidArgumentError(
        "default_rerank_factor > 0 needs keep_raw_vectors");
  }
  if (o.pq_training_points < 1)
    return absl::InvalidArgumentError("pq_training_points < 1");
  internal::IvfConfig c = internal::ConfigFromOptions(IndexFamily::kIvfPq, o);
  IvfPqOptions opts = o;
  opts.device = Device::kCpu;
  auto index = std::unique_ptr<IvfPqIndex>(new IvfPqIndex(c, opts));
  index->pq_ = pq;
  index->staged_pq_ = pq;
  return index;
}

Capabilities IvfPqIndex::capabilities() const {
  return Capabilities{.needs_training = true,
                      .remove = true,
                      .get_vectors = options_.keep_raw_vectors,
                      .filter = true,
                      .add_during_search = true};
}

std::string IvfPqIndex::Description() const {
  return absl::StrCat("IVF", options_.nlist, ",PQ", options_.pq_m,
                      options_.pq_bits == 4 ? "x4fs" : "",
                      options_.keep_raw_vectors ? ",Rerank" : "");
}

void IvfPqIndex::AppendParams(io::ByteBuilder& b) const {
  b.U32(static_cast<uint32_t>(options_.pq_m));
  b.U32(static_cast<uint32_t>(options_.pq_bits));
  b.U32(options_.keep_raw_vectors ? 1 : 0);
  b.U32(static_cast<uint32_t>(options_.default_rerank_factor));
  b.U32(static_cast<uint32_t>(options_.pq_training_points));
}

absl::Status IvfPqIndex::StageTraining(MatrixView<const float> x,
                                       const float* centroids,
                                       const float* centroid_norms,
                                       Executor* executor) {
  const int64_t d = options_.dim;
  const int64_t n = std::min<int64_t>(x.rows, options_.pq_training_points);
  std::vector<int64_t> pick(x.rows);
  std::iota(pick.begin(), pick.end(), 0);
  if (n < x.rows) {
    std::mt19937_64 rng(options_.seed ^ 0x9e3779b97f4a7c15ull);
    for (int64_t i = 0; i < n; ++i) {
      std::uniform_int_distribution<int64_t> u(i, x.rows - 1);
      std::swap(pick[i], pick[u(rng)]);
    }
    pick.resize(n);
    std::sort(pick.begin(), pick.end());
  }
  std::vector<float> residuals(n * d);
  for (int64_t i = 0; i < n; ++i)
    std::copy_n(x.row(pick[i]), d, residuals.data() + i * d);
  std::vector<int32_t> assign(n);
  AssignLists(centroids, centroid_norms,
              MatrixView<const float>(residuals.data(), n, d), assign.data(),
              executor);
  for (int64_t i = 0; i < n && ByResidual(); ++i) {
    const float* c = centroids + int64_t{assign[i]} * d;
    float* r = residuals.data() + i * d;
    for (int64_t j = 0; j < d; ++j) r[j] -= c[j];
  }
  train::ProductQuantizer pq = pq_;
  VINDEX_RETURN_IF_ERROR(
      pq.Train(MatrixView<const float>(residuals.data(), n, d),
               options_.kmeans_iterations, options_.seed, executor));
  staged_books_t_ = TransposedCodebooks(pq);
  staged_list_terms_ = ListTerms(pq, staged_books_t_, centroids);
  staged_pq_ = std::move(pq);
  return absl::OkStatus();
}

void IvfPqIndex::CommitTraining() {
  pq_ = staged_pq_;
  books_t_ = std::move(staged_books_t_);
  staged_books_t_.clear();
  list_terms_ = std::move(staged_list_terms_);
  staged_list_terms_.clear();
}

std::vector<float> IvfPqIndex::ListTerms(const train::ProductQuantizer& pq,
                                         const std::vector<float>& books_t,
                                         const float* centroids) const {
  if (options_.metric != Metric::kL2 || options_.pq_bits != 4 ||
      !ByResidual()) {
    return {};
  }
  const kernels::pq::Table& pk = kernels::pq::Active();
  const int64_t m = pq.m(), ksub = pq.ksub(), dsub = pq.dsub();
  const int64_t d = options_.dim;
  std::vector<float> terms(int64_t{options_.nlist} * m * ksub);
  for (int64_t l = 0; l < options_.nlist; ++l) {
    pk.inner_product_tables(centroids + l * d, books_t.data(), m, dsub, ksub,
                            2.0f, pq.codeword_norms(0),
                            terms.data() + l * m * ksub);
  }
  return terms;
}

std::vector<float> IvfPqIndex::TransposedCodebooks(
    const train::ProductQuantizer& pq) {
  const int64_t m = pq.m(), ksub = pq.ksub(), dsub = pq.dsub();
  std::vector<float> t(m * dsub * ksub);
  for (int64_t j = 0; j < m; ++j) {
    const float* book = pq.codebook(j);
    float* out = t.data() + j * dsub * ksub;
    for (int64_t c = 0; c < ksub; ++c) {
      for (int64_t d = 0; d < dsub; ++d) out[d * ksub + c] = book[c * dsub + d];
    }
  }
  return t;
}

void IvfPqIndex::Encode(MatrixView<const float> x, const int32_t* lists,
                        uint8_t* codes, Executor* executor) const {
  const int64_t d = options_.dim;
  const float* cents = centroids().data();
  internal::ParallelForRange(executor, x.rows, 1024, [&](int64_t b, int64_t e) {
    std::vector<float> res((e - b) * d);
    for (int64_t i = b; i < e; ++i) {
      const float* v = x.row(i);
      const float* c = cents + int64_t{lists[i]} * d;
      float* r = res.data() + (i - b) * d;
      for (int64_t j = 0; j < d; ++j) r[j] = ByResidual() ? v[j] - c[j] : v[j];
    }
    pq_.Encode(MatrixView<const float>(res.data(), e - b, d),
               codes + b * options_.pq_m, nullptr);
  });
}

absl::StatusOr<int> IvfPqIndex::ResolveRerank(
    const SearchParams& params) const {
  if (params.rerank_factor == SearchParams::kNoRerank) return 0;
  if (params.rerank_factor < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("rerank_factor ", params.rerank_factor,
                     " < 0 (SearchParams::kNoRerank is the only negative)"));
  }
  const int rf = params.rerank_factor == 0 ? options_.default_rerank_factor
                                           : params.rerank_factor;
  if (rf > 0 && !options_.keep_raw_vectors) {
    return absl::InvalidArgumentError(
        "rerank_factor > 0 needs an index built with keep_raw_vectors "
        "(\",Rerank\")");
  }
  return rf;
}

void IvfPqIndex::ScanLists(const internal::ProbeContext& ctx) const {
  const kernels::KernelTable& kt = kernels::Active();
  const kernels::pq::Table& pk = kernels::pq::Active();
  const int64_t d = options_.dim, m = pq_.m(), ksub = pq_.ksub(),
                dsub = pq_.dsub();
  const bool l2 = options_.metric == Metric::kL2;
  const bool fast_scan = options_.pq_bits == 4;
  const int pairs = static_cast<int>((m + 1) / 2);
  const size_t block_bytes = size_t(pairs) * 32;

  auto sc = scratch_.Acquire();
  sc->t2.resize(m * ksub);
  sc->lut.resize(m * ksub);
  sc->dist.resize(kScanChunk);
  sc->index.resize(kScanChunk);
  sc->q8.resize(block_bytes);
  sc->sums.resize(kScanChunk);
  sc->residual.resize(d);
  float* t2 = sc->t2.data();
  float* dist = sc->dist.data();

  // The query's part of every table: factor * <q_j, y_jc>.
  const float factor = l2 ? -2.0f : -1.0f;
  pk.inner_product_tables(ctx.query, books_t_.data(), m, dsub, ksub, factor,
                          nullptr, t2);

  const bool rerank = ctx.rerank_factor > 0;
  int kk = ctx.k;
  if (rerank) {
    // Never more candidates than the probed lists hold (and no overflow).
    int64_t probed = 0;
    for (int p = 0; p < ctx.nprobe; ++p) {
      if (ctx.lists[p] >= 0) probed += lists().list_size(ctx.lists[p]);
    }
    kk = static_cast<int>(std::max<int64_t>(
        ctx.k, std::min<int64_t>(int64_t{ctx.k} * ctx.rerank_factor, probed)));
  }
  internal::TopK top(kk);
  // 4-bit codes: a table shared by every list (no residual) is quantized
  // once per query; by-residual L2 tables add the list's precomputed term.
  const bool shared_table = fast_scan && !ByResidual();
  float shared_bias = 0.0f, shared_inv_scale = 0.0f;
  if (shared_table) {
    shared_inv_scale = pk.quantize_lut4(t2, m, sc->q8.data(), &shared_bias);
  }
  const bool use_terms = fast_scan && l2 && !list_terms_.empty();
  for (int p = 0; p < ctx.nprobe; ++p) {
    const int64_t l = ctx.lists[p];
    if (l < 0) continue;
    const int64_t n = lists().list_size(l);
    if (n == 0) continue;
    // The table for this list, and the constant added to every entry.
    float bias = ByResidual() ? ctx.coarse[p] : 0.0f;
    const float* lut = t2;
    if (use_terms && p + 1 < ctx.nprobe && ctx.lists[p + 1] >= 0) {
      // The next list's term (m * 16 floats, rarely cached) and the head of
      // its codes are requested now, so the misses overlap this list's scan.
      const int64_t next = ctx.lists[p + 1];
      const char* t =
          reinterpret_cast<const char*>(list_terms_.data() + next * m * ksub);
      for (int64_t off = 0; off < m * ksub * 4; off += 64)
        __builtin_prefetch(t + off);
      const char* c = reinterpret_cast<const char*>(lists().codes(next));
      const int64_t code_bytes = std::min<int64_t>(
          int64_t(lists().code_bytes(lists().list_size(next))), 4096);
      for (int64_t off = 0; off < code_bytes; off += 64)
        __builtin_prefetch(c + off);
    }
    if (use_terms) {
      float* buf = sc->lut.data();
      const float* terms = list_terms_.data() + l * m * ksub;
      for (int64_t i = 0; i < m * ksub; ++i) buf[i] = terms[i] + t2[i];
      lut = buf;
    } else if (l2) {
      float* buf = sc->lut.data();
      const float* c = centroids().data() + l * d;
      float* r = sc->residual.data();
      for (int64_t j = 0; j < d; ++j) r[j] = ctx.query[j] - c[j];
      // ||r_j - y||^2 = ||r_j||^2 - 2 <r_j, y> + ||y||^2, and the ||r_j||^2
      // sum to the coarse distance, already in the bias.
      pk.inner_product_tables(r, books_t_.data(), m, dsub, ksub, -2.0f,
                              pq_.codeword_norms(0), buf);
      lut = buf;
    }
    const int64_t* ids = lists().ids(l);
    auto key = [&](int64_t i) { return rerank ? LocationKey(l, i) : ids[i]; };
    const int64_t base = ctx.mask != nullptr ? (*ctx.offsets)[l] : 0;

    if (!fast_scan) {
      const uint8_t* codes = lists().codes(l);
      if (ctx.mask != nullptr) {
        for (int64_t i = 0; i < n; ++i) {
          if (!ctx.mask->Test(base + i)) continue;
          const uint8_t* c = codes + i * m;
          float s = bias;
          for (int64_t j = 0; j < m; ++j) s += lut[j * 256 + c[j]];
          top.Push(s, key(i));
        }
        continue;
      }
      for (int64_t b = 0; b < n; b += kScanChunk) {
        const int64_t bn = std::min(kScanChunk, n - b);
        pk.scan8(lut, codes + b * m, bn, m, dist);
        for (int64_t i = 0; i < bn; ++i) dist[i] += bias;
        top.PushBlock(kt, dist, bn, sc->index.data(),
                      [&](uint32_t i) { return key(b + i); });
      }
      continue;
    }

    // 4-bit fast-scan.
    float qbias = bias;
    float inv_scale = shared_inv_scale;
    if (shared_table) {
      qbias += shared_bias;
    } else {
      float lo_sum = 0.0f;
      inv_scale = pk.quantize_lut4(lut, m, sc->q8.data(), &lo_sum);
      qbias += lo_sum;
    }
    const int64_t blocks = (n + kFastScanBlock - 1) / kFastScanBlock;
    const int64_t chunk_blocks =
        ctx.mask != nullptr ? 1 : kScanChunk / kFastScanBlock;
    const uint16_t* sums = sc->sums.data();
    for (int64_t b0 = 0; b0 < blocks; b0 += chunk_blocks) {
      const int64_t bc = std::min(chunk_blocks, blocks - b0);
      const int64_t first = b0 * kFastScanBlock;
      const int64_t cnt = std::min<int64_t>(bc * kFastScanBlock, n - first);
      if (ctx.mask != nullptr) {
        bool any = false;
        for (int64_t i = 0; i < cnt && !any; ++i)
          any = ctx.mask->Test(base + first + i);
        if (!any) continue;  // No allowed entry: the block is never scored.
      }
      pk.scan4_fastscan(lists().codes(l) + b0 * block_bytes, bc, pairs,
                        sc->q8.data(), sc->sums.data());
      // Only sums that can still beat the threshold get a float score; the
      // bound is refreshed whenever a candidate enters.
      uint32_t bound = SumBound(top.threshold(), qbias, inv_scale);
      for (int64_t i = 0; i < cnt; ++i) {
        if (sums[i] > bound) continue;
        if (ctx.mask != nullptr && !ctx.mask->Test(base + first + i)) continue;
        const int64_t id = key(first + i);
        if (id == -1) continue;  // Reserved, as in TopK::PushBlock.
        const float before = top.threshold();
        top.Push(qbias + sums[i] * inv_scale, id);
        if (top.threshold() != before)
          bound = SumBound(top.threshold(), qbias, inv_scale);
      }
    }
  }
  if (!rerank) {
    top.Finish(ctx.out_ids, ctx.out_scores);
    return;
  }
  // Exact re-rank of the kk best candidates from the kept vectors.
  sc->cand_ids.resize(kk);
  sc->cand_scores.resize(kk);
  top.Finish(sc->cand_ids.data(), sc->cand_scores.data());
  // The candidates' rows are scattered: request them all first, a window
  // ahead of the scoring loop, so the memory misses overlap.
  auto row_of = [&](int i) {
    const int64_t k = sc->cand_ids[i];
    return lists().vectors(k >> 32) + (k & 0xffffffff) * d;
  };
  const size_t row_bytes = d * sizeof(float);
  auto prefetch = [&](int i) {
    const char* r = reinterpret_cast<const char*>(row_of(i));
    for (size_t off = 0; off < row_bytes; off += 64)
      __builtin_prefetch(r + off);
  };
  int valid = 0;
  while (valid < kk && sc->cand_ids[valid] >= 0) ++valid;
  constexpr int kPrefetchAhead = 16;
  for (int i = 0; i < std::min(valid, kPrefetchAhead); ++i) prefetch(i);
  internal::TopK final_top(ctx.k);
  for (int i = 0; i < valid; ++i) {
    if (i + kPrefetchAhead < valid) prefetch(i + kPrefetchAhead);
    const int64_t k = sc->cand_ids[i];
    const int64_t l = k >> 32;
    const int64_t pos = k & 0xffffffff;
    const float* v = lists().vectors(l) + pos * d;
    const float s =
        l2 ? kt.l2_sqr(ctx.query, v, d) : -kt.inner_product(ctx.query, v, d);
    final_top.Push(s, lists().ids(l)[pos]);
  }
  final_top.Finish(ctx.out_ids, ctx.out_scores);
}

absl::Status IvfPqIndex::SaveExtra(io::ContainerWriter& w) const {
  const auto& books = pq_.codebooks();
  VINDEX_RETURN_IF_ERROR(
      w.BeginSection(io::kTagCodebooks, books.size() * sizeof(float)));
  VINDEX_RETURN_IF_ERROR(
      w.WritePayload(books.data(), books.size() * sizeof(float)));
  return w.EndSection();
}

absl::Status IvfPqIndex::LoadExtra(io::ContainerReader& r,
                                   const float* centroids) {
  VINDEX_ASSIGN_OR_RETURN(uint64_t bytes, r.BeginSection(io::kTagCodebooks));
  const uint64_t want =
      uint64_t(pq_.m()) * pq_.ksub() * pq_.dsub() * sizeof(float);
  if (bytes != want) {
    return absl::DataLossError(absl::StrCat("codebooks section has ", bytes,
                                            " bytes, expected ", want));
  }
  std::vector<float> books(want / sizeof(float));
  VINDEX_RETURN_IF_ERROR(r.ReadPayload(books.data(), bytes));
  VINDEX_RETURN_IF_ERROR(r.EndSection());
  for (float v : books) {
    if (!std::isfinite(v))
      return absl::DataLossError("codebooks section has a non-finite value");
  }
  train::ProductQuantizer pq = pq_;
  VINDEX_RETURN_IF_ERROR(pq.SetCodebooks(std::move(books)));
  staged_books_t_ = TransposedCodebooks(pq);
  staged_list_terms_ = ListTerms(pq, staged_books_t_, centroids);
  staged_pq_ = std::move(pq);
  return absl::OkStatus();
}

uint64_t IvfPqIndex::ExtraMemory() const {
  return (pq_.codebooks().capacity() + books_t_.capacity() +
          list_terms_.capacity()) *
         sizeof(float);
}

absl::StatusOr<std::unique_ptr<Index>> IvfPqIndex::Load(
    const io::FileHeader& header, io::ContainerReader& reader) {
  VINDEX_ASSIGN_OR_RETURN(
      std::string params,
      reader.ReadSection(io::kTagParams, internal::kMaxIvfParamsBytes));
  io::ByteCursor cur(params, "IVF-PQ params");
  internal::IvfConfig c;
  bool trained = false;
  VINDEX_RETURN_IF_ERROR(ParseBaseParams(cur, &c, &trained));
  VINDEX_ASSIGN_OR_RETURN(uint32_t m, cur.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t bits, cur.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t keep_raw, cur.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t rerank, cur.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t pq_points, cur.U32());
  VINDEX_RETURN_IF_ERROR(cur.ExpectEnd());
  if (m == 0 || m > header.dim || keep_raw > 1 || rerank > (1u << 20) ||
      pq_points > (1u << 30)) {
    return absl::DataLossError(
        "IVF-PQ params section has an out-of-range field");
  }
  IvfPqOptions o;
  o.dim = static_cast<int>(header.dim);
  o.metric = header.metric;
  o.nlist = c.nlist;
  o.default_nprobe = c.default_nprobe;
  o.kmeans_iterations = c.kmeans_iterations;
  o.max_points_per_centroid = c.max_points_per_centroid;
  o.seed = c.seed;
  o.pq_m = static_cast<int>(m);
  o.pq_bits = static_cast<int>(bits);
  o.keep_raw_vectors = keep_raw == 1;
  o.default_rerank_factor = static_cast<int>(rerank);
  o.pq_training_points = static_cast<int>(pq_points);
  auto index = Create(o);
  if (!index.ok()) return absl::DataLossError(index.status().message());
  VINDEX_RETURN_IF_ERROR((*index)->LoadBody(reader, header.count, trained));
  return std::unique_ptr<Index>(std::move(*index));
}

}  // namespace vindex
