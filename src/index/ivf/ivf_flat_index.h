#ifndef VINDEX_SRC_INDEX_IVF_IVF_FLAT_INDEX_H_
#define VINDEX_SRC_INDEX_IVF_IVF_FLAT_INDEX_H_

#include <memory>
#include <string>
#include <vector>

#include "core/scratch_pool.h"
#include "index/ivf/ivf_base.h"

namespace vindex {

// Inverted file with exact vectors: a k-means coarse quantizer of nlist
// centroids, and per list the full (normalised for cosine) vectors, scanned
// with the SIMD one-query-against-rows kernels for the nprobe closest lists;
// a large unfiltered batch instead reads each probed list once, scoring all
// its queries by GEMM (ScanBatch).
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
  struct Scratch {
    std::vector<float> dist;
    std::vector<uint32_t> index;
    // Called by the pool: buffers grown by a huge request are not kept.
    void Trim() {
      internal::ReleaseIfAbove(dist);
      internal::ReleaseIfAbove(index);
    }
  };

  explicit IvfFlatIndex(const IvfCommonOptions& options);

  std::string Description() const override;
  void AppendParams(io::ByteBuilder& /*b*/) const override {}
  void ScanLists(const internal::ProbeContext& ctx) const override;
  bool ScanBatch(MatrixView<const float> queries, const int64_t* probe,
                 const float* coarse, int nprobe, int k, SearchOutput out,
                 Executor* executor) const override;

  mutable internal::ScratchPool<Scratch> scratch_;
};

}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_IVF_IVF_FLAT_INDEX_H_
