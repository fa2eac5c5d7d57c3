#ifndef VINDEX_SRC_CORE_VISITED_SET_H_
#define VINDEX_SRC_CORE_VISITED_SET_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vindex::internal {

// Per-query "seen" marks over slots [0, n): one bit per slot, so the marks of
// a few hundred thousand slots stay in the L2 cache during a graph walk
// (a 16-bit generation per slot would take 16x the cache). Reset clears only
// the 64-bit words the last query touched (it remembers them), so its cost
// follows the nodes visited, not n.
// Thread safety: one VisitedSet per query (take it from a ScratchPool).
class VisitedSet {
 public:
  // Starts a new query over at least n slots.
  void Reset(size_t n) {
    if (touched_.size() * 8 >= words_.size()) {
      std::fill(words_.begin(), words_.end(), 0);
    } else {
      for (uint32_t w : touched_) words_[w] = 0;
    }
    touched_.clear();
    const size_t words = (n + 63) / 64;
    if (words_.size() < words) words_.resize(words, 0);
  }
  bool Visited(uint32_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }
  void Mark(uint32_t i) { (void)TestAndMark(i); }
  // Marks i and returns whether it was already marked.
  bool TestAndMark(uint32_t i) {
    uint64_t& w = words_[i >> 6];
    const uint64_t bit = uint64_t{1} << (i & 63);
    if (w & bit) return true;
    if (w == 0) touched_.push_back(i >> 6);
    w |= bit;
    return false;
  }
  size_t bytes() const {
    return words_.capacity() * sizeof(uint64_t) +
           touched_.capacity() * sizeof(uint32_t);
  }

 private:
  std::vector<uint64_t> words_;
  std::vector<uint32_t> touched_;  // Words with a bit set since Reset.
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_VISITED_SET_H_
