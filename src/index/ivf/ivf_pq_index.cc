#include "index/ivf/ivf_pq_index.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/list_location.h"
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

}  // namespace

IvfPqIndex::IvfPqIndex(const internal::IvfConfig& config,
                       const IvfPqOptions& options)
    : IvfIndexBase(config,
                   options.pq_bits == 4 ? internal::CodeLayout::kFastScan4
                                        : internal::CodeLayout::kBytes,
                   options.pq_m, options.keep_raw_vectors ? options.dim : 0,
                   /*entry_terms=*/options.metric == Metric::kL2),
      options_(options) {}

absl::StatusOr<std::unique_ptr<IvfPqIndex>> IvfPqIndex::Create(
    const IvfPqOptions& o) {
  VINDEX_RETURN_IF_ERROR(internal::CheckIvfOptions(
      o.dim, o.metric, o.device, o.nlist, o.default_nprobe, o.kmeans_iterations,
      o.max_points_per_centroid));
  train::ProductQuantizer pq;
  VINDEX_RETURN_IF_ERROR(pq.Init(o.dim, o.pq_m, o.pq_bits));
  // Steering values are bounded here and so on load too.
  constexpr int kMaxRerankFactor = 1 << 10;
  constexpr int kMaxPqTrainingPoints = 1 << 24;
  if (o.default_rerank_factor < 0 ||
      o.default_rerank_factor > kMaxRerankFactor) {
    return absl::InvalidArgumentError(
        absl::StrCat("default_rerank_factor must be in [0, ", kMaxRerankFactor,
                     "], got ", o.default_rerank_factor));
  }
  if (o.default_rerank_factor > 0 && !o.keep_raw_vectors) {
    return absl::InvalidArgumentError(
        "default_rerank_factor > 0 needs keep_raw_vectors");
  }
  if (o.pq_training_points < 1 || o.pq_training_points > kMaxPqTrainingPoints) {
    return absl::InvalidArgumentError(
        absl::StrCat("pq_training_points must be in [1, ", kMaxPqTrainingPoints,
                     "], got ", o.pq_training_points));
  }
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
  staged_pq_ = std::move(pq);
  return absl::OkStatus();
}

void IvfPqIndex::CommitTraining() {
  pq_ = staged_pq_;
  books_t_ = std::move(staged_books_t_);
  staged_books_t_.clear();
}

float IvfPqIndex::EntryTerm(const train::ProductQuantizer& pq,
                            const float* centroid, const uint8_t* code) {
  const int m = pq.m(), dsub = pq.dsub();
  float term = 0.0f;
  for (int j = 0; j < m; ++j) {
    const float* y = pq.codebook(j) + size_t(code[j]) * dsub;
    const float* c = centroid + size_t(j) * dsub;
    float dot = 0.0f;
    for (int t = 0; t < dsub; ++t) dot += c[t] * y[t];
    term += pq.codeword_norms(j)[code[j]] + 2.0f * dot;
  }
  return term;
}

void IvfPqIndex::FillEntryTerms(const float* centroids,
                                internal::InvertedLists* lists) const {
  const int64_t d = options_.dim;
  std::vector<uint8_t> code(staged_pq_.m());
  for (int64_t l = 0; l < lists->nlist(); ++l) {
    const int64_t n = lists->list_size(l);
    if (n == 0) continue;
    std::vector<float> terms(n);
    for (int64_t i = 0; i < n; ++i) {
      lists->GetCode(l, i, code.data());
      terms[i] = EntryTerm(staged_pq_, centroids + l * d, code.data());
    }
    lists->SetTerms(l, std::move(terms));
  }
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
                        uint8_t* codes, float* terms,
                        Executor* executor) const {
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
    for (int64_t i = b; terms != nullptr && i < e; ++i) {
      terms[i] = EntryTerm(pq_, cents + int64_t{lists[i]} * d,
                           codes + i * options_.pq_m);
    }
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

IvfPqIndex::QueryTable IvfPqIndex::PrepareQuery(const float* query,
                                                Scratch& sc) const {
  const kernels::pq::Table& pk = kernels::pq::Active();
  const int64_t m = pq_.m(), ksub = pq_.ksub();
  sc.t2.resize(m * ksub);
  QueryTable qt;
  qt.t2 = sc.t2.data();
  // The one table of the query, shared by every probed list:
  // factor * <q_j, y_jc>. A list adds its bias (the coarse score, by
  // residual) and, for L2, each entry's term (see UsesEntryTerms).
  const float factor = options_.metric == Metric::kL2 ? -2.0f : -1.0f;
  pk.inner_product_tables(query, books_t_.data(), m, pq_.dsub(), ksub, factor,
                          nullptr, sc.t2.data());
  // 4-bit: the table quantized once: score = bias + lo_sum + sum * inv_scale.
  if (options_.pq_bits == 4) {
    sc.q8.resize(size_t((m + 1) / 2) * 32);
    qt.q8 = sc.q8.data();
    qt.inv_scale = pk.quantize_lut4(sc.t2.data(), m, sc.q8.data(), &qt.lo_sum);
  }
  return qt;
}

int IvfPqIndex::CandidateCount(const int64_t* probed_lists, int nprobe, int k,
                               int rerank_factor) const {
  if (rerank_factor <= 0) return k;
  // Never more candidates than the probed lists hold (and no overflow).
  int64_t probed = 0;
  for (int p = 0; p < nprobe; ++p) {
    if (probed_lists[p] >= 0) probed += lists().list_size(probed_lists[p]);
  }
  return static_cast<int>(std::max<int64_t>(
      k, std::min<int64_t>(int64_t{k} * rerank_factor, probed)));
}

void IvfPqIndex::PrefetchList(int64_t l) const {
  const char* c = reinterpret_cast<const char*>(lists().codes(l));
  const int64_t code_bytes = std::min<int64_t>(
      int64_t(lists().code_bytes(lists().list_size(l))), 2048);
  for (int64_t off = 0; off < code_bytes; off += 64)
    __builtin_prefetch(c + off);
  if (lists().terms(l) != nullptr) {
    const char* t = reinterpret_cast<const char*>(lists().terms(l));
    for (int64_t off = 0; off < lists().list_size(l) * 4; off += 64)
      __builtin_prefetch(t + off);
  }
}

void IvfPqIndex::ScanList(int64_t l, float coarse, const QueryTable& qt,
                          const internal::RowMask* mask, int64_t base,
                          bool location_keys, internal::TopK& top,
                          Scratch& sc) const {
  const kernels::KernelTable& kt = kernels::Active();
  const kernels::pq::Table& pk = kernels::pq::Active();
  const int64_t n = lists().list_size(l);
  if (n == 0) return;
  const int64_t m = pq_.m();
  const bool fast_scan = options_.pq_bits == 4;
  const int pairs = static_cast<int>((m + 1) / 2);
  const size_t block_bytes = size_t(pairs) * 32;
  sc.dist.resize(kScanChunk);
  sc.index.resize(kScanChunk);
  float* dist = sc.dist.data();
  const float bias = (ByResidual() ? coarse : 0.0f) + qt.lo_sum;
  const float* terms = lists().terms(l);  // Null unless L2.
  const int64_t* ids = lists().ids(l);
  const uint8_t* codes = lists().codes(l);
  auto key = [&](int64_t i) -> int64_t {
    if (mask != nullptr && !mask->Test(base + i)) return -1;
    return location_keys
               ? static_cast<int64_t>(internal::ListLocation::At(l, i).Pack())
               : ids[i];
  };

  if (!fast_scan && mask != nullptr) {
    for (int64_t i = 0; i < n; ++i) {
      if (!mask->Test(base + i)) continue;
      const uint8_t* c = codes + i * m;
      float s = bias + (terms != nullptr ? terms[i] : 0.0f);
      for (int64_t j = 0; j < m; ++j) s += qt.t2[j * 256 + c[j]];
      top.Push(s, key(i));
    }
    return;
  }
  if (fast_scan) {
    // Chunks of whole 32-entry blocks; one block at a time with a filter,
    // so blocks with no allowed entry are never scored. The kernel keeps
    // only entries within the top's threshold as the chunk starts.
    const int64_t chunk = mask != nullptr ? kFastScanBlock : kScanChunk;
    for (int64_t first = 0; first < n; first += chunk) {
      const int64_t cnt = std::min(chunk, n - first);
      if (mask != nullptr) {
        bool any = false;
        for (int64_t i = 0; i < cnt && !any; ++i)
          any = mask->Test(base + first + i);
        if (!any) continue;
      }
      const size_t passed = pk.scan4_fastscan_filter(
          codes + first / kFastScanBlock * block_bytes, cnt, pairs, qt.q8,
          terms != nullptr ? terms + first : nullptr, bias, qt.inv_scale,
          top.threshold(), sc.index.data(), dist);
      top.PushFiltered(dist, sc.index.data(), passed,
                       [&](uint32_t i) { return key(first + i); });
    }
    return;
  }
  for (int64_t first = 0; first < n; first += kScanChunk) {
    const int64_t cnt = std::min(kScanChunk, n - first);
    pk.scan8(qt.t2, codes + first * m, cnt, m, dist);
    for (int64_t i = 0; i < cnt; ++i) dist[i] += bias;
    if (terms != nullptr) {
      for (int64_t i = 0; i < cnt; ++i) dist[i] += terms[first + i];
    }
    top.PushBlock(kt, dist, cnt, sc.index.data(),
                  [&](uint32_t i) { return key(first + i); });
  }
}

void IvfPqIndex::FinishQuery(const float* query, internal::TopK& top, int kk,
                             int k, bool rerank, int64_t* out_ids,
                             float* out_scores, Scratch& sc) const {
  if (!rerank) {
    top.Finish(out_ids, out_scores);
    return;
  }
  const kernels::KernelTable& kt = kernels::Active();
  const int64_t d = options_.dim;
  const bool l2 = options_.metric == Metric::kL2;
  // Exact re-rank of the kk best candidates from the kept vectors.
  sc.cand_ids.resize(kk);
  const int valid = static_cast<int>(top.TakeIds(sc.cand_ids.data()));
  // The candidates' rows are scattered: request them a window of about
  // 8 KiB ahead of the scoring loop, so the memory misses overlap. (A fixed
  // 16 rows was 32 KiB of 2 KiB rows on debian-desc-use512; the 8 KiB window
  // measured 38.3k / 44.6k QPS there against 36.6k / 41.0k, two noisy runs.)
  auto row_of = [&](int i) {
    const auto at = internal::ListLocation::Unpack(sc.cand_ids[i]);
    return lists().vectors(at.list) + int64_t{at.offset} * d;
  };
  const size_t row_bytes = d * sizeof(float);
  auto prefetch = [&](int i) {
    const char* r = reinterpret_cast<const char*>(row_of(i));
    for (size_t off = 0; off < row_bytes; off += 64)
      __builtin_prefetch(r + off);
  };
  const int kPrefetchAhead = std::max<int>(2, 8192 / int(row_bytes));
  for (int i = 0; i < std::min(valid, kPrefetchAhead); ++i) prefetch(i);
  internal::TopK final_top(k);
  for (int i = 0; i < valid; ++i) {
    if (i + kPrefetchAhead < valid) prefetch(i + kPrefetchAhead);
    const auto at = internal::ListLocation::Unpack(sc.cand_ids[i]);
    const float* v = lists().vectors(at.list) + int64_t{at.offset} * d;
    const float s =
        l2 ? kt.l2_sqr(query, v, d) : -kt.inner_product(query, v, d);
    final_top.Push(s, lists().ids(at.list)[at.offset]);
  }
  final_top.Finish(out_ids, out_scores);
}

void IvfPqIndex::ScanLists(const internal::ProbeContext& ctx) const {
  auto sc = scratch_.Acquire();
  const QueryTable qt = PrepareQuery(ctx.query, *sc);
  const bool rerank = ctx.rerank_factor > 0;
  const int kk =
      CandidateCount(ctx.lists, ctx.nprobe, ctx.k, ctx.rerank_factor);
  internal::TopK top(kk);
  for (int p = 0; p < ctx.nprobe; ++p) {
    const int64_t l = ctx.lists[p];
    if (l < 0) continue;
    // The head of the next list's codes and its terms are requested now,
    // so their misses overlap this list's scan (without: 0.092-0.101 ms
    // instead of 0.083 per query, sift IVF2041,PQ64x4fs nprobe 64).
    if (p + 1 < ctx.nprobe && ctx.lists[p + 1] >= 0)
      PrefetchList(ctx.lists[p + 1]);
    ScanList(l, ctx.coarse[p], qt, ctx.mask,
             ctx.mask != nullptr ? (*ctx.offsets)[l] : 0, rerank, top, *sc);
  }
  FinishQuery(ctx.query, top, kk, ctx.k, rerank, ctx.out_ids, ctx.out_scores,
              *sc);
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
                                   const float* /*centroids*/) {
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
  staged_pq_ = std::move(pq);
  return absl::OkStatus();
}

uint64_t IvfPqIndex::ExtraMemory() const {
  return (pq_.codebooks().capacity() + books_t_.capacity()) * sizeof(float);
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
