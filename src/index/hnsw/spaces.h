// The distance spaces a graph walk scores nodes in: exact floats, 8- or
// 4-bit scalar-quantized codes (L2 and inner product) and fp16 halves, each
// bound to one query.
#ifndef VINDEX_SRC_INDEX_HNSW_SPACES_H_
#define VINDEX_SRC_INDEX_HNSW_SPACES_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/storage.h"
#include "index/ip_screen.h"
#include "kernels/kernels.h"
#include "kernels/sq_kernels.h"

namespace vindex {

// Every space offers Dist(slot); DistBelow(slot, bound), which may stop early
// with a partial sum once it reaches bound; Data(slot) to prefetch; and the
// bytes of one node worth prefetching.

// Float vectors at base + slot * stride.
class HnswIndex::FloatSpace {
 public:
  FloatSpace(const HnswIndex& index, const float* q, const char* base,
             size_t stride)
      : q_(q),
        base_(base),
        stride_(stride),
        dim_(index.dim_),
        ip_(index.options_.metric != Metric::kL2),
        screen_ip_(index.options_.metric == Metric::kCosine &&
                   index.leading_axes_first_),
        fn_(ip_ ? kernels::Active().inner_product : kernels::Active().l2_sqr),
        below_((ip_ && !screen_ip_) || dim_ < kernels::kBoundedMinDim
                   ? nullptr
                   : kernels::Active().l2_sqr_below) {}
  float Dist(uint32_t slot) const {
    const float v =
        fn_(q_, reinterpret_cast<const float*>(base_ + slot * stride_), dim_);
    return ip_ ? -v : v;
  }
  // Like Dist, but may stop early with a partial sum once it exceeds
  // `bound` (squared L2 only grows with more dimensions), so a node that
  // cannot enter the results costs only part of its vector (the
  // l2_sqr_below kernel: checks after 32 and 64 dimensions, then every 64).
  // Cosine nodes are unit vectors: behind a rotation the same exit screens
  // them against the matching squared-L2 bound (index/ip_screen.h), and a
  // node it passes is scored exactly.
  float DistBelow(uint32_t slot, float bound) const {
    if (below_ == nullptr) return Dist(slot);
    const float* x = reinterpret_cast<const float*>(base_ + slot * stride_);
    if (!screen_ip_) return below_(q_, x, dim_, bound);
    const float l2_bound =
        internal::InnerProductScreenBound(bound, 1.0f, 1.0f, dim_);
    if (below_(q_, x, dim_, l2_bound) > l2_bound) {
      return std::numeric_limits<float>::infinity();
    }
    return Dist(slot);
  }
  const char* Data(uint32_t slot) const { return base_ + slot * stride_; }
  size_t bytes() const { return dim_ * sizeof(float); }
  // The bytes to prefetch of a node about to be scored.
  size_t prefetch_bytes() const {
    return below_ == nullptr ? bytes()
                             : std::min(bytes(), kPrefetchDims * sizeof(float));
  }

 private:
  // Prefetching whole long vectors would fetch what early exits skip (see
  // docs/decisions.md, HNSW).
  static constexpr size_t kPrefetchDims = 256;
  const float* q_;
  const char* base_;
  size_t stride_;
  size_t dim_;
  bool ip_;
  bool screen_ip_;  // Cosine behind a rotation: screened (DistBelow).
  float (*fn_)(const float*, const float*, size_t);
  float (*below_)(const float*, const float*, size_t, float);
};

// Scalar-quantized codes in the level-0 blocks: 8-bit codes one per byte,
// or packed 4-bit ones (layout: kernels/sq_kernels.h). The query's own codes
// are one per byte; for 4-bit codes they are zero-padded to
// 2 * ScalarQuantizer::PackedBytes(dim). Both spaces use HnswIndex::CodeBytes
// for the length of a node's codes.

// Squared L2 between the query's codes and a node's (L2 and cosine).
class HnswIndex::SqL2Space {
 public:
  SqL2Space(const HnswIndex& index, const uint8_t* qcode)
      ABSL_SHARED_LOCKS_REQUIRED(index.mu_)
      : q_(qcode),
        base_(index.level0_),
        stride_(index.block_bytes_),
        bytes_(index.CodeBytes()),
        fn_(index.sq_bits_ == 4 ? kernels::sq::Active().l2_sqr_u4
                                : kernels::sq::Active().l2_sqr_u8) {}
  float Dist(uint32_t slot) const {
    return static_cast<float>(fn_(
        q_, reinterpret_cast<const uint8_t*>(base_ + slot * stride_), bytes_));
  }
  const char* Data(uint32_t slot) const { return base_ + slot * stride_; }
  size_t bytes() const { return bytes_; }
  size_t prefetch_bytes() const { return bytes_; }
  // An exit by chunks (one kernel call per chunk) costs more on raw data
  // than it saves (docs/decisions.md, HNSW): no early exit here.
  float DistBelow(uint32_t slot, float) const { return Dist(slot); }

 private:
  const uint8_t* q_;
  const char* base_;
  size_t stride_;
  size_t bytes_;
  uint32_t (*fn_)(const uint8_t*, const uint8_t*, size_t);
};

// Negative inner product of the query's own 8-bit code with a node's codes
// (see ScalarQuantizer::EncodeQueryForIp), from the code sum stored after
// them.
class HnswIndex::SqIpSpace {
 public:
  SqIpSpace(const HnswIndex& index, const uint8_t* qcode, float lo, float scale)
      ABSL_SHARED_LOCKS_REQUIRED(index.mu_)
      : q_(qcode),
        base_(index.level0_),
        stride_(index.block_bytes_),
        bytes_(index.CodeBytes()),
        sum_offset_(index.payload_bytes_ - sizeof(uint32_t)),
        lo_(lo),
        scale_(scale),
        fn_(index.sq_bits_ == 4 ? kernels::sq::Active().dot_u8_u4
                                : kernels::sq::Active().dot_u8) {}
  float Dist(uint32_t slot) const {
    const char* b = base_ + slot * stride_;
    uint32_t sum;
    std::memcpy(&sum, b + sum_offset_, sizeof(sum));
    const uint32_t dot = fn_(q_, reinterpret_cast<const uint8_t*>(b), bytes_);
    return -(lo_ * static_cast<float>(sum) + scale_ * static_cast<float>(dot));
  }
  const char* Data(uint32_t slot) const { return base_ + slot * stride_; }
  size_t bytes() const { return bytes_; }
  size_t prefetch_bytes() const { return sum_offset_ + sizeof(uint32_t); }
  float DistBelow(uint32_t slot, float) const { return Dist(slot); }

 private:
  const uint8_t* q_;
  const char* base_;
  size_t stride_;
  size_t bytes_;
  size_t sum_offset_;
  float lo_;
  float scale_;
  uint32_t (*fn_)(const uint8_t*, const uint8_t*, size_t);
};

// fp16 copies in the level-0 blocks against the float query.
class HnswIndex::Fp16Space {
 public:
  Fp16Space(const HnswIndex& index, const float* q)
      ABSL_SHARED_LOCKS_REQUIRED(index.mu_)
      : q_(q),
        base_(index.level0_),
        stride_(index.block_bytes_),
        dim_(index.dim_),
        ip_(index.options_.metric != Metric::kL2),
        fn_(ip_ ? kernels::sq::Active().ip_f16
                : kernels::sq::Active().l2_sqr_f16) {}
  float Dist(uint32_t slot) const {
    const float v = fn_(
        q_, reinterpret_cast<const uint16_t*>(base_ + slot * stride_), dim_);
    return ip_ ? -v : v;
  }
  const char* Data(uint32_t slot) const { return base_ + slot * stride_; }
  size_t bytes() const { return dim_ * sizeof(uint16_t); }
  size_t prefetch_bytes() const { return bytes(); }
  float DistBelow(uint32_t slot, float) const { return Dist(slot); }

 private:
  const float* q_;
  const char* base_;
  size_t stride_;
  size_t dim_;
  bool ip_;
  float (*fn_)(const float*, const uint16_t*, size_t);
};

}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_HNSW_SPACES_H_
