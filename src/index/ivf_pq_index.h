#ifndef VINDEX_SRC_INDEX_IVF_PQ_INDEX_H_
#define VINDEX_SRC_INDEX_IVF_PQ_INDEX_H_

#include <memory>
#include <string>
#include <vector>

#include "core/scratch_pool.h"
#include "index/ivf_base.h"
#include "train/product_quantizer.h"

namespace vindex {

// Inverted file with product-quantized residuals (vector minus its list's
// centroid). 8-bit codes are scanned with a float lookup table per query and
// list; 4-bit codes live in the fast-scan layout (blocks of 32) and are
// scanned with 8-bit quantized tables held in registers. With
// keep_raw_vectors the exact vectors are kept beside the codes, and
// rerank_factor > 0 re-scores the best k * rerank_factor candidates exactly.
// Tables come from codebooks transposed to dsub x ksub
// (pq::Table::inner_product_tables): per query factor * <q_j, y_jc>, which is
// the whole table for inner product; for L2 each probed list's table is
// ||y||^2 - 2 <r_j, y> for the residual r = q - centroid, computed when the
// list is probed (cheaper than reading a precomputed nlist x m x ksub table
// from memory: +19-33% QPS on sift-wallpapers IVF1024,PQ32).
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
    std::vector<float> t2, lut, dist, exact;
    std::vector<uint32_t> index;
    std::vector<uint8_t> q8;
    std::vector<uint16_t> sums;
    std::vector<int64_t> cand_ids;
    std::vector<float> cand_scores, residual;
  };

  IvfPqIndex(const internal::IvfConfig& config, const IvfPqOptions& options);

  std::string Description() const override;
  void AppendParams(io::ByteBuilder& b) const override;
  absl::Status StageTraining(MatrixView<const float> x, const float* centroids,
                             const float* centroid_norms,
                             Executor* executor) override;
  void CommitTraining() override;
  void Encode(MatrixView<const float> x, const int32_t* lists, uint8_t* codes,
              Executor* executor) const override;
  absl::StatusOr<int> ResolveRerank(const SearchParams& params) const override;
  void ScanLists(const internal::ProbeContext& ctx) const override;
  absl::Status SaveExtra(io::ContainerWriter& w) const override;
  absl::Status LoadExtra(io::ContainerReader& r,
                         const float* centroids) override;
  uint64_t ExtraMemory() const override;

  // Whether codes quantize the residual (vector minus centroid) or the
  // vector itself. Residuals for L2 and for 8-bit codes; 4-bit codes with
  // inner product or cosine quantize the vectors: with only 16 codewords per
  // sub-space, residuals from the largest-inner-product centroid (which
  // need not be the nearest) coded worse than the vectors themselves on
  // real embeddings (debian-desc-use512, IVF128,PQ64x4fs, nprobe 32,
  // re-rank 10: recall@10 0.835 with residuals, 0.911 without). FAISS's
  // fast-scan IVF makes the same choice by default.
  bool ByResidual() const {
    return options_.metric == Metric::kL2 || options_.pq_bits != 4;
  }

  // Each sub-quantizer's codebook transposed (dsub x ksub), the layout the
  // query table kernel reads.
  static std::vector<float> TransposedCodebooks(
      const train::ProductQuantizer& pq);

  // For 4-bit L2 codes (by residual): per list l, entry (j, c) of
  // ||y_jc||^2 + 2 <centroid_l,j, y_jc>, nlist x m x 16 floats. The list's
  // table is then this plus the query's -2 <q_j, y_jc>: one add per entry
  // instead of a table built from the residual. Empty otherwise.
  // books_t: TransposedCodebooks(pq).
  std::vector<float> ListTerms(const train::ProductQuantizer& pq,
                               const std::vector<float>& books_t,
                               const float* centroids) const;

  IvfPqOptions options_;
  train::ProductQuantizer pq_, staged_pq_;
  std::vector<float> books_t_, staged_books_t_;        // m x dsub x ksub.
  std::vector<float> list_terms_, staged_list_terms_;  // See ListTerms.
  mutable internal::ScratchPool<Scratch> scratch_;
};

}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_IVF_PQ_INDEX_H_
