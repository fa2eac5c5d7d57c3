#ifndef VINDEX_SRC_INDEX_IVF_IVF_FLAT_INDEX_H_
#define VINDEX_SRC_INDEX_IVF_IVF_FLAT_INDEX_H_

#include <memory>
#include <string>
#include <vector>

#include "core/scratch_pool.h"
#include "core/topk.h"
#include "index/ivf/ivf_base.h"

namespace vindex {

// Inverted file with exact vectors: a k-means coarse quantizer of nlist
// centroids, and per list the full (normalised for cosine) vectors, scanned
// with the SIMD one-query-against-rows kernels for the nprobe closest lists;
// an unfiltered batch whose probed lists are shared by enough queries
// instead reads each probed list once for all of them (ScanBatch,
// ivf_flat_batch.cc).
// Owns its data. Thread safety: as IvfIndexBase (all methods concurrent;
// mutations serialised; searches see each mutation whole).
class IvfFlatIndex final : public internal::IvfIndexBase {
 public:
  static absl::StatusOr<std::unique_ptr<IvfFlatIndex>> Create(
      const IvfFlatOptions& options);
  static absl::StatusOr<std::unique_ptr<Index>> Load(
      const io::FileHeader& header, io::ContainerReader& reader);

  Capabilities capabilities() const override;

 private:
  // ScanBatch's per-task buffers (ivf_flat_batch.cc).
  struct BatchScratch {
    std::vector<const float*> query;  // The group's query rows.
    std::vector<float> dist;          // Group x tile distances.
    std::vector<uint32_t> index;
    std::vector<internal::TopK> tops;  // One per query of the group.
  };
  struct Scratch {
    std::vector<float> dist;
    std::vector<uint32_t> index;
    std::vector<float> tail_offset;  // The query's part of the heads' tails.
    BatchScratch batch;
    // Called by the pool: buffers grown by a huge request are not kept.
    void Trim() {
      internal::ReleaseIfAbove(dist);
      internal::ReleaseIfAbove(index);
      internal::ReleaseIfAbove(batch.dist);
      for (internal::TopK& top : batch.tops)
        top.ReleaseIfAbove(internal::kMaxPooledBufferBytes);
    }
  };

  explicit IvfFlatIndex(const IvfCommonOptions& options);

  std::string Description() const override;
  void AppendParams(io::ByteBuilder& /*b*/) const override {}
  // Behind a rotation, L2 and cosine rows of kernels::kCodedHeadDim or more
  // dimensions keep coded heads: the one-query scan's first check streams
  // only those, and reads a row only if they cannot rule it out
  // (docs/decisions.md, IVF).
  bool KeepsListHeads() const override;
  void ScanLists(const internal::ProbeContext& ctx) const override;
  bool ScanBatch(MatrixView<const float> queries, const int64_t* probe,
                 const float* coarse, int nprobe, int k, SearchOutput out,
                 Executor* executor) const override;

  mutable internal::ScratchPool<Scratch> scratch_;
};

}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_IVF_IVF_FLAT_INDEX_H_
