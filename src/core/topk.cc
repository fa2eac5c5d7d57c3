#include "core/topk.h"

#include <algorithm>
#include <cstdint>

namespace vindex::internal {

void TopK::Reset(int k) {
  k_ = k < 1 ? 1 : k;
  heap_mode_ = k_ <= kHeapMaxK;
  threshold_ = std::numeric_limits<float>::infinity();
  entries_.clear();
  entries_.reserve(heap_mode_ ? k_ : 2 * static_cast<size_t>(k_));
}

void TopK::PushHeap(float distance, int64_t id) {
  Entry e{distance, id};
  if (entries_.size() < static_cast<size_t>(k_)) {
    entries_.push_back(e);
    std::push_heap(entries_.begin(), entries_.end());
    if (entries_.size() == static_cast<size_t>(k_)) {
      threshold_ = entries_.front().distance;
    }
    return;
  }
  if (!(e < entries_.front())) return;  // Equal distance, larger id: worse.
  std::pop_heap(entries_.begin(), entries_.end());
  entries_.back() = e;
  std::push_heap(entries_.begin(), entries_.end());
  threshold_ = entries_.front().distance;
}

void TopK::PushBuffer(float distance, int64_t id) {
  entries_.push_back(Entry{distance, id});
  if (entries_.size() >= 2 * static_cast<size_t>(k_)) Compact();
}

void TopK::RankEntries(uint32_t* rank) const {
  const size_t n = entries_.size();
  float dist[kRankMaxEntries];
  for (size_t i = 0; i < n; ++i) dist[i] = entries_[i].distance;
  kernels::Active().count_less(dist, n, rank);
  // Entries with equal distances share a count; the smaller id goes first.
  // Quantized distances tie often, so ties are settled within each group of
  // equal counts (bucketed by count): sum of squared group sizes, not n per
  // tied entry.
  uint16_t start[kRankMaxEntries + 1];
  std::fill(start, start + n + 1, uint16_t{0});
  for (size_t i = 0; i < n; ++i) ++start[rank[i] + 1];
  bool ties = false;
  for (size_t v = 0; v < n; ++v) {
    ties |= start[v + 1] > 1;
    start[v + 1] += start[v];
  }
  if (!ties) return;
  uint16_t by_count[kRankMaxEntries];
  uint16_t fill[kRankMaxEntries];
  std::copy(start, start + n, fill);
  for (size_t i = 0; i < n; ++i)
    by_count[fill[rank[i]]++] = static_cast<uint16_t>(i);
  for (size_t v = 0; v < n; ++v) {
    const size_t first = start[v], last = start[v + 1];
    for (size_t a = first; last - first > 1 && a < last; ++a) {
      const int64_t id = entries_[by_count[a]].id;
      uint32_t before = 0;
      for (size_t b = first; b < last; ++b)
        before += entries_[by_count[b]].id < id ? 1 : 0;
      rank[by_count[a]] += before;
    }
  }
}

void TopK::KeepBest() {
  const size_t n = entries_.size(), k = static_cast<size_t>(k_);
  if (n <= k) return;
  if (n > kRankMaxEntries) {
    // The k-th distance by the kernel table's selection, then everything
    // below it (kept without a branch) and the ties at it with the smallest
    // ids.
    selection_.resize(n + 3 * (n + 16));
    for (size_t i = 0; i < n; ++i) selection_[i] = entries_[i].distance;
    const float kth = kernels::Active().kth_smallest(
        selection_.data(), n, k - 1, selection_.data() + n);
    ties_.clear();
    size_t kept = 0;
    for (size_t i = 0; i < n; ++i) {
      const Entry e = entries_[i];
      if (e.distance == kth) ties_.push_back(e);
      entries_[kept] = e;
      kept += e.distance < kth ? 1 : 0;
    }
    const size_t need = k - kept;
    if (ties_.size() > need) {
      std::nth_element(ties_.begin(), ties_.begin() + (need - 1), ties_.end());
    }
    std::copy_n(ties_.begin(), need, entries_.begin() + kept);
    entries_.resize(k);
    return;
  }
  uint32_t rank[kRankMaxEntries];
  RankEntries(rank);
  // Written without a branch (which half the entries would mispredict).
  // Ranks are distinct unless an identical (distance, id) pair was offered
  // twice; the cap keeps k then too.
  size_t kept = 0;
  for (size_t i = 0; i < n && kept < k; ++i) {
    entries_[kept] = entries_[i];
    kept += rank[i] < k ? 1 : 0;
  }
  entries_.resize(kept);
}

void TopK::Compact() {
  KeepBest();
  // Everything kept is <= the k-th; entries dropped were worse or tied with
  // a larger id, so the k-th's distance bounds all future entrants.
  float worst = entries_[0].distance;
  for (const Entry& e : entries_) worst = std::max(worst, e.distance);
  threshold_ = worst;
}

void TopK::Finish(int64_t* ids, float* distances) {
  const size_t k = static_cast<size_t>(k_);
  size_t i = 0;
  if (!heap_mode_ && entries_.size() <= kRankMaxEntries) {
    // One ranking both selects and orders: entry j belongs in slot rank[j].
    // A slot stays empty only when a (distance, id) pair was offered twice.
    const size_t n = entries_.size();
    uint32_t rank[kRankMaxEntries];
    RankEntries(rank);
    Entry slot[kRankMaxEntries];
    bool filled[kRankMaxEntries] = {};
    for (size_t j = 0; j < n; ++j) {
      const uint32_t r = rank[j];
      if (r >= k || filled[r]) continue;
      slot[r] = entries_[j];
      filled[r] = true;
    }
    for (size_t r = 0; r < std::min(n, k); ++r) {
      if (!filled[r]) continue;
      ids[i] = slot[r].id;
      distances[i] = slot[r].distance;
      ++i;
    }
  } else {
    KeepBest();
    std::sort(entries_.begin(), entries_.end());
    for (; i < entries_.size(); ++i) {
      ids[i] = entries_[i].id;
      distances[i] = entries_[i].distance;
    }
  }
  for (; i < k; ++i) {
    ids[i] = -1;
    distances[i] = std::numeric_limits<float>::infinity();
  }
  entries_.clear();
  threshold_ = std::numeric_limits<float>::infinity();
}

size_t TopK::TakeIds(int64_t* ids) {
  if (!heap_mode_) KeepBest();
  const size_t n = entries_.size();
  for (size_t i = 0; i < n; ++i) ids[i] = entries_[i].id;
  entries_.clear();
  threshold_ = std::numeric_limits<float>::infinity();
  return n;
}

void SelectTopK(const float* dist, const int64_t* ids, size_t n, int k,
                int64_t* out_ids, float* out_distances) {
  TopK top(k);
  for (size_t i = 0; i < n; ++i) {
    top.Push(dist[i], ids ? ids[i] : static_cast<int64_t>(i));
  }
  top.Finish(out_ids, out_distances);
}

}  // namespace vindex::internal
