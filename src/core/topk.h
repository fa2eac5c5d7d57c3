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
// Small k uses a bounded max-heap; larger k a threshold buffer of 2k entries
// compacted when full: up to kRankMaxEntries entries by counting each one's
// rank (the kernel table's branch-free count_less), beyond that by selecting
// the k-th distance (kth_smallest). A NaN distance is never kept.
// Thread safety: one TopK per thread (it is per-query scratch).
class TopK {
 public:
  // k above this uses the buffer method: the heap is kept only for tiny k,
  // where it wins when nearly every candidate enters. Measured by
  // bench/kernels_bench BM_TopK (figures: docs/decisions.md, "Core").
  static constexpr int kHeapMaxK = 8;
  // Buffers up to this size are compacted by ranking each entry (no
  // branches) rather than by nth_element (mispredicted compares); above it
  // ranking costs more compares than it saves. Measured by BM_TopK and IVF-PQ
  // searches (figures: docs/decisions.md, "Core").
  static constexpr size_t kRankMaxEntries = 128;
  // PushBlock's first filter step.
  static constexpr size_t kFirstFilterBlock = 64;

  TopK() = default;
  explicit TopK(int k) { Reset(k); }

  // Frees the buffers if they hold more than max_bytes (a pooled TopK that
  // one query with a huge k grew); the next Reset grows them again.
  void ReleaseIfAbove(size_t max_bytes) {
    const size_t bytes = entries_.capacity() * sizeof(Entry) +
                         selection_.capacity() * sizeof(float) +
                         ties_.capacity() * sizeof(Entry);
    if (bytes <= max_bytes) return;
    std::vector<Entry>().swap(entries_);
    std::vector<float>().swap(selection_);
    std::vector<Entry>().swap(ties_);
  }

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
    if (!(distance <= threshold_)) return;  // Also drops NaN.
    if (heap_mode_) {
      PushHeap(distance, id);
    } else {
      PushBuffer(distance, id);
    }
  }

  // Offers a block of candidates: dist[i] with id id_of(i); id_of returns -1
  // to skip a candidate (e.g. filtered out). The SIMD threshold filter drops
  // hopeless candidates before any id is looked up. It runs on sub-blocks
  // of 64, 128, 256, ... entries, so that a threshold that tightens while
  // the block is pushed filters the rest soon (a long block met at +inf
  // would otherwise pass whole) at a few calls per block. `scratch` needs n
  // entries.
  template <typename IdOf>
  void PushBlock(const kernels::KernelTable& kt, const float* dist, size_t n,
                 uint32_t* scratch, IdOf id_of) {
    size_t step = kFirstFilterBlock;
    for (size_t b0 = 0; b0 < n; b0 += step, step *= 2) {
      const size_t bn = n - b0 < step ? n - b0 : step;
      const size_t m = kt.threshold_filter(dist + b0, bn, threshold_, scratch);
      for (size_t j = 0; j < m; ++j) {
        const uint32_t i = static_cast<uint32_t>(b0) + scratch[j];
        PushChecked(dist[i], i, id_of);
      }
    }
  }

  // Offers candidates that already passed a filter against an earlier
  // threshold(): distance dist[j] with id id_of(index[j]), for j < m; id_of
  // returns -1 to skip.
  template <typename IdOf>
  void PushFiltered(const float* dist, const uint32_t* index, size_t m,
                    IdOf id_of) {
    for (size_t j = 0; j < m; ++j) PushChecked(dist[j], index[j], id_of);
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
  // Pushes (distance, id_of(i)) unless the distance no longer passes the
  // threshold (checked before the id is looked up) or the id is -1.
  template <typename IdOf>
  void PushChecked(float distance, uint32_t i, IdOf& id_of) {
    if (distance > threshold_) return;
    const int64_t id = id_of(i);
    if (id == -1) return;  // Caller ids may be negative; -1 is reserved.
    Push(distance, id);
  }
  void PushHeap(float distance, int64_t id);
  void PushBuffer(float distance, int64_t id);
  void Compact();
  // Buffer mode: reduces entries_ to the best min(k, size) (any order).
  void KeepBest();
  // rank[i] = the number of entries_ ordered before entry i (by distance,
  // then id). Needs size() <= kRankMaxEntries.
  void RankEntries(uint32_t* rank) const;

  int k_ = 0;
  bool heap_mode_ = true;
  float threshold_ = std::numeric_limits<float>::infinity();
  std::vector<Entry> entries_;
  std::vector<float> selection_;  // KeepBest's distances and kernel scratch.
  std::vector<Entry> ties_;       // KeepBest's entries at the k-th distance.
};

// Selects the k smallest of dist[0..n) (ids: ids[i], or i when ids is null),
// sorted, padded as TopK::Finish. A reference-quality helper for tests and
// for callers with a whole distance row in hand.
void SelectTopK(const float* dist, const int64_t* ids, size_t n, int k,
                int64_t* out_ids, float* out_distances);

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_TOPK_H_
