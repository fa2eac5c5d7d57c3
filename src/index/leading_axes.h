// The hint a rotation gives the index behind it: its leading coordinates
// are the principal axes, so they carry most of each vector.
#ifndef VINDEX_SRC_INDEX_LEADING_AXES_H_
#define VINDEX_SRC_INDEX_LEADING_AXES_H_

namespace vindex::internal {

// Implemented by indexes whose inner-product and cosine scans screen long
// rows with the squared-L2 early exit (index/ip_screen.h) only when told the
// leading coordinates dominate: on raw embeddings, whose differences spread
// over all dimensions, the screen stops too few rows to pay for its checks
// (docs/decisions.md). L2 scans stop early whatever the hint.
class LeadingAxesFirst {
 public:
  virtual ~LeadingAxesFirst() = default;
  // Called by RotatedIndex on the index it wraps, before the index is shared.
  virtual void SetLeadingAxesFirst() = 0;
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_INDEX_LEADING_AXES_H_
