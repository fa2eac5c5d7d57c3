#include "core/topk.h"

#include <algorithm>

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

void TopK::Compact() {
  auto kth = entries_.begin() + (k_ - 1);
  std::nth_element(entries_.begin(), kth, entries_.end());
  entries_.resize(k_);
  // Everything kept is <= the k-th; entries beyond it were worse or tied
  // with a larger id, so the k-th's distance bounds all future entrants.
  threshold_ = kth->distance;
}

void TopK::Finish(int64_t* ids, float* distances) {
  if (!heap_mode_ && entries_.size() > static_cast<size_t>(k_)) {
    auto kth = entries_.begin() + (k_ - 1);
    std::nth_element(entries_.begin(), kth, entries_.end());
    entries_.resize(k_);
  }
  std::sort(entries_.begin(), entries_.end());
  size_t i = 0;
  for (; i < entries_.size(); ++i) {
    ids[i] = entries_[i].id;
    distances[i] = entries_[i].distance;
  }
  for (; i < static_cast<size_t>(k_); ++i) {
    ids[i] = -1;
    distances[i] = std::numeric_limits<float>::infinity();
  }
  entries_.clear();
  threshold_ = std::numeric_limits<float>::infinity();
}

size_t TopK::TakeIds(int64_t* ids) {
  if (!heap_mode_ && entries_.size() > static_cast<size_t>(k_)) {
    auto kth = entries_.begin() + (k_ - 1);
    std::nth_element(entries_.begin(), kth, entries_.end());
    entries_.resize(k_);
  }
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
