#ifndef VINDEX_SRC_CORE_TOPK_H_
#define VINDEX_SRC_CORE_TOPK_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/kernels.h"

namespace vindex::internal {

// Keeps the k smallest (distance, id) pairs seen, for any k >= 1. Order is
// by distance, then by smaller id, so results are deterministic under ties.
// Small k uses a bounded max-heap; large k a threshold buffer of 2k entries
// compacted with a partition (nth_element) when full.
// Thread safety: one TopK per thread (it is per-query scratch).
class TopK {
 public:
  // k above this uses the buffer method. bench/kernels_bench (BM_TopK*): the
  // buffer matched the heap at k = 10 on random input and beat it at every
  // larger k (+9% at 100, 2.5x at 1000; 6-9x when every candidate enters);
  // the heap is kept only for tiny k, where it was not measured to lose.
  static constexpr int kHeapMaxK = 8;

  TopK() = default;
  explicit TopK(int k) { Reset(k); }

  // Empties the collector and sets k (>= 1).
  void Reset(int k);

  int k() const { return k_; }
  // Candidates held (may exceed k in buffer mode until Finish).
  size_t size() const { return entries_.size(); }

  // A candidate with distance > threshold() can never enter. +inf until k
  // candidates have been seen.
  float threshold() const { return threshold_; }

  // Offers one candidate.
  void Push(float distance, int64_t id) {
    if (distance > threshold_) return;
    if (heap_mode_) {
      PushHeap(distance, id);
    } else {
      PushBuffer(distance, id);
    }
  }

  // Offers a block of candidates: dist[i] with id id_of(i); id_of returns -1
  // to skip a candidate (e.g. filtered out). The SIMD threshold filter drops
  // hopeless candidates before any id is looked up. `scratch` needs n entries.
  template <typename IdOf>
  void PushBlock(const kernels::KernelTable& kt, const float* dist, size_t n,
                 uint32_t* scratch, IdOf id_of) {
    size_t m = kt.threshold_filter(dist, n, threshold_, scratch);
    for (size_t j = 0; j < m; ++j) {
      uint32_t i = scratch[j];
      if (dist[i] > threshold_) continue;
      int64_t id = id_of(i);
      if (id == -1) continue;  // Caller ids may be negative; -1 is reserved.
      Push(dist[i], id);
    }
  }

  // Writes the results closest first into ids[0..k) and distances[0..k),
  // padding with id -1 and +inf. Leaves the collector empty.
  void Finish(int64_t* ids, float* distances);
  // The ids of the (at most k) best candidates, in no particular order, into
  // ids; returns how many. Leaves the collector empty. For callers that
  // re-score the set anyway (exact re-rank), it saves Finish's sort.
  size_t TakeIds(int64_t* ids);

 private:
  struct Entry {
    float distance;
    int64_t id;
    bool operator<(const Entry& o) const {
      return distance < o.distance || (distance == o.distance && id < o.id);
    }
  };
  void PushHeap(float distance, int64_t id);
  void PushBuffer(float distance, int64_t id);
  void Compact();

  int k_ = 0;
  bool heap_mode_ = true;
  float threshold_ = std::numeric_limits<float>::infinity();
  std::vector<Entry> entries_;
};

// Selects the k smallest of dist[0..n) (ids: ids[i], or i when ids is null),
// sorted, padded as TopK::Finish. A reference-quality helper for tests and
// for callers with a whole distance row in hand.
void SelectTopK(const float* dist, const int64_t* ids, size_t n, int k,
                int64_t* out_ids, float* out_distances);

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_TOPK_H_
