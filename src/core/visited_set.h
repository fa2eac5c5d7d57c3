#ifndef VINDEX_SRC_CORE_VISITED_SET_H_
#define VINDEX_SRC_CORE_VISITED_SET_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vindex::internal {

// Per-query "seen" marks over slots [0, n) with a generation counter: a new
// query bumps the generation instead of clearing the marks, so the array is
// only cleared when the 16-bit counter wraps (every 65535 queries).
// Thread safety: one VisitedSet per query (take it from a ScratchPool).
class VisitedSet {
 public:
  // Starts a new query over at least n slots.
  void Reset(size_t n) {
    if (marks_.size() < n) marks_.resize(n, 0);  // New marks are unvisited.
    if (++generation_ == 0) {
      std::fill(marks_.begin(), marks_.end(), 0);
      generation_ = 1;
    }
  }
  bool Visited(uint32_t i) const { return marks_[i] == generation_; }
  void Mark(uint32_t i) { marks_[i] = generation_; }
  // Marks i and returns whether it was already marked.
  bool TestAndMark(uint32_t i) {
    if (marks_[i] == generation_) return true;
    marks_[i] = generation_;
    return false;
  }
  const void* address(uint32_t i) const { return &marks_[i]; }
  size_t bytes() const { return marks_.capacity() * sizeof(uint16_t); }

 private:
  std::vector<uint16_t> marks_;
  uint16_t generation_ = 0;
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_VISITED_SET_H_
