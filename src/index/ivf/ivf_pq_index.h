#ifndef VINDEX_SRC_INDEX_IVF_IVF_PQ_INDEX_H_
#define VINDEX_SRC_INDEX_IVF_IVF_PQ_INDEX_H_

#include <memory>
#include <string>
#include <vector>

#include "core/scratch_pool.h"
#include "core/topk.h"
#include "index/ivf/ivf_base.h"
#include "train/product_quantizer.h"

namespace vindex {

// Inverted file with product-quantized residuals (vector minus its list's
// centroid). 8-bit codes are scanned with a float lookup table; 4-bit codes
// live in the fast-scan layout (blocks of 32) and are scanned with an 8-bit
// quantized table held in registers. With keep_raw_vectors the exact vectors
// are kept beside the codes, and rerank_factor > 0 re-scores the best
// k * rerank_factor candidates exactly.
// A query has ONE table, factor * <q_j, y_jc> (pq::Table::
// inner_product_tables over codebooks transposed to dsub x ksub), shared by
// every list it probes: a list adds its coarse score and, for L2, each
// entry's stored term (UsesEntryTerms). No table is built per probed list.
// Owns its data. Thread safety: as IvfIndexBase (all methods concurrent;
// mutations serialised; searches see each mutation whole).
class IvfPqIndex final : public internal::IvfIndexBase {
 public:
  static absl::StatusOr<std::unique_ptr<IvfPqIndex>> Create(
      const IvfPqOptions& options);
  static absl::StatusOr<std::unique_ptr<Index>> Load(
      const io::FileHeader& header, io::ContainerReader& reader);

  Capabilities capabilities() const override;
  const IvfPqOptions& options() const { return options_; }

 private:
  friend class IvfPqIndexTestPeer;  // Reads the codes and codebooks in tests.

  struct Scratch {
    std::vector<float> t2, dist;
    std::vector<uint32_t> index;
    std::vector<uint8_t> q8;
    std::vector<int64_t> cand_ids;
    // Called by the pool: buffers grown by a huge request are not kept.
    void Trim() {
      internal::ReleaseIfAbove(t2);
      internal::ReleaseIfAbove(dist);
      internal::ReleaseIfAbove(index);
      internal::ReleaseIfAbove(q8);
      internal::ReleaseIfAbove(cand_ids);
    }
  };

  explicit IvfPqIndex(const IvfPqOptions& options);

  std::string Description() const override;
  void AppendParams(io::ByteBuilder& b) const override;
  absl::Status StageTraining(MatrixView<const float> x, const float* centroids,
                             const float* centroid_norms,
                             Executor* executor) override;
  void CommitTraining() override;
  void Encode(MatrixView<const float> x, const int32_t* lists, uint8_t* codes,
              float* terms, Executor* executor) const override;
  absl::StatusOr<int> ResolveRerank(const SearchParams& params) const override;
  void ScanLists(const internal::ProbeContext& ctx) const override;
  // 4-bit codes: the batch list by list (ivf_pq_fastscan_batch.cc) when
  // ListMajorPays, with the answers ScanLists gives query by query.
  bool ScanQueries(const internal::BatchProbeContext& batch) const override;
  // Scans queries [q0, q1) of the batch list by list.
  void ScanQueryGroup(const internal::BatchProbeContext& batch, int64_t q0,
                      int64_t q1) const;
  // Whether a group of queries, each probing nprobe of nlist lists, shares
  // enough list scans for the list-major scan to beat query by query: its
  // per-query tables and candidates stay live across the whole group, and
  // a query meets its lists in list order rather than nearest first, so
  // its threshold tightens later.
  static bool ListMajorPays(int64_t group_queries, int nprobe, int64_t nlist);
  // Queries that probe one list on average, at least, for ListMajorPays:
  // at about 4 the list-major scan only broke even on sift (ann_bench,
  // docs/benchmarks.md), and gained from 8 on.
  static constexpr int64_t kListMajorMinQueriesPerList = 4;
  // Most queries per list-major group (bounds its tables and candidates).
  static constexpr int64_t kListMajorMaxGroup = 2048;

  // A query's table (PrepareQuery): t2 (m x ksub floats, in the scratch)
  // and, for 4-bit codes, its quantized form q8 with score
  // = bias + lo_sum + sum * inv_scale.
  struct QueryTable {
    const float* t2 = nullptr;
    const uint8_t* q8 = nullptr;
    float lo_sum = 0.0f, inv_scale = 0.0f;
  };
  // The tables live in sc (t2, q8) until its next PrepareQuery.
  QueryTable PrepareQuery(const float* query, Scratch& sc) const;
  // Candidates kept before re-rank: k, or k * rerank_factor bounded by the
  // entries of the probed lists.
  int CandidateCount(const int64_t* probed_lists, int nprobe, int k,
                     int rerank_factor) const;
  // Requests the head of list l's codes and its terms.
  void PrefetchList(int64_t l) const;
  // Scores list l's entries (allowed by mask at global position base + i,
  // when mask is set) into top, keyed by id or, for re-rank, by location.
  void ScanList(int64_t l, float coarse, const QueryTable& qt,
                const internal::RowMask* mask, int64_t base, bool location_keys,
                internal::TopK& top, Scratch& sc) const;
  // Writes the k results: top's, or top's kk candidates re-ranked exactly.
  void FinishQuery(const float* query, internal::TopK& top, int kk, int k,
                   bool rerank, int64_t* out_ids, float* out_scores,
                   Scratch& sc) const;
  absl::Status SaveExtra(io::ContainerWriter& w) const override;
  absl::Status LoadExtra(io::ContainerReader& r,
                         const float* centroids) override;
  uint64_t ExtraMemory() const override;

  // Whether codes quantize the residual (vector minus centroid) or the
  // vector itself. Residuals for L2 and for 8-bit codes; 4-bit codes with
  // inner product or cosine quantize the vectors: with only 16 codewords per
  // sub-space, residuals from the largest-inner-product centroid (which
  // need not be the nearest) coded worse than the vectors themselves on
  // real embeddings (recall measured in docs/decisions.md, IVF). FAISS's
  // fast-scan IVF makes the same choice by default.
  bool ByResidual() const {
    return options_.ivf.metric == Metric::kL2 || options_.pq_bits != 4;
  }

  // Each sub-quantizer's codebook transposed (dsub x ksub), the layout the
  // query table kernel reads.
  static std::vector<float> TransposedCodebooks(
      const train::ProductQuantizer& pq);

  // L2 codes (always by residual) keep one term per list entry:
  // ||y||^2 + 2 <centroid, y> for its decoded residual y, so that
  // ||q - centroid - y||^2 = ||q - centroid||^2 + term - 2 <q, y> and the
  // table of -2 <q_j, y_jc> is the query's alone, shared by every probed
  // list (no per-list table). Sums over sub-quantizers in index order.
  bool UsesEntryTerms() const { return options_.ivf.metric == Metric::kL2; }
  static float EntryTerm(const train::ProductQuantizer& pq,
                         const float* centroid, const uint8_t* code);
  void FillEntryTerms(const float* centroids,
                      internal::InvertedLists* lists) const override;

  IvfPqOptions options_;
  train::ProductQuantizer pq_, staged_pq_;
  std::vector<float> books_t_, staged_books_t_;  // m x dsub x ksub.
  mutable internal::ScratchPool<Scratch> scratch_;
};

}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_IVF_IVF_PQ_INDEX_H_
