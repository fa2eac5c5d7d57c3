// IVF-PQ: creation, params, training of the product quantizer, encoding
// (codes and entry terms) and its codebooks section.

#include "index/ivf/ivf_pq_index.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/parallel.h"
#include "core/status_macros.h"
#include "kernels/kernels.h"
#include "linalg/gemm.h"

namespace vindex {

IvfPqIndex::IvfPqIndex(const IvfPqOptions& options)
    : IvfIndexBase(IndexFamily::kIvfPq, options.ivf,
                   options.pq_bits == 4 ? internal::CodeLayout::kFastScan4
                                        : internal::CodeLayout::kBytes,
                   options.pq_m, options.keep_raw_vectors ? options.ivf.dim : 0,
                   /*entry_terms=*/options.ivf.metric == Metric::kL2),
      options_(options) {}

absl::StatusOr<std::unique_ptr<IvfPqIndex>> IvfPqIndex::Create(
    const IvfPqOptions& o) {
  VINDEX_RETURN_IF_ERROR(internal::CheckIvfOptions(o.ivf));
  train::ProductQuantizer pq;
  VINDEX_RETURN_IF_ERROR(pq.Init(o.ivf.dim, o.pq_m, o.pq_bits));
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
  IvfPqOptions opts = o;
  opts.ivf.device = Device::kCpu;
  auto index = std::unique_ptr<IvfPqIndex>(new IvfPqIndex(opts));
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
  return absl::StrCat("IVF", options_.ivf.nlist, ",PQ", options_.pq_m,
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
  const int64_t d = options_.ivf.dim;
  const int64_t n = std::min<int64_t>(x.rows, options_.pq_training_points);
  std::vector<int64_t> pick(x.rows);
  std::iota(pick.begin(), pick.end(), 0);
  if (n < x.rows) {
    std::mt19937_64 rng(options_.ivf.seed ^ 0x9e3779b97f4a7c15ull);
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
               options_.ivf.kmeans_iterations, options_.ivf.seed, executor));
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
  const int64_t d = options_.ivf.dim;
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
  const int64_t d = options_.ivf.dim;
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
  IvfPqOptions o;
  bool trained = false;
  VINDEX_RETURN_IF_ERROR(ParseBaseParams(cur, &o.ivf, &trained));
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
  o.ivf.dim = static_cast<int>(header.dim);
  o.ivf.metric = header.metric;
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
