// HNSW reachability: level-0 in-degree counts, linking in the orphans an Add
// leaves, and the full walk that links in every live node the entry point
// does not reach.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <vector>

#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/search_layer.h"
#include "index/hnsw/spaces.h"
#include "index/hnsw/storage.h"

namespace vindex {

using hnsw::ByDistance;
using hnsw::kNoEntry;
using hnsw::kNoSlot;
using hnsw::LoadLink;
using hnsw::StoreLink;
using hnsw::UnpackEntry;

void HnswIndex::CountInLink(uint32_t to) {
  std::atomic_ref<uint32_t>(in_degree_[to])
      .fetch_add(1, std::memory_order_relaxed);
}

void HnswIndex::UncountInLink(uint32_t y) {
  if (std::atomic_ref<uint32_t>(in_degree_[y])
              .fetch_sub(1, std::memory_order_relaxed) == 1 &&
      collect_orphans_) {
    internal::MutexLock lock(orphans_mu_);
    orphans_.push_back(y);
  }
}

void HnswIndex::RecountInDegrees() {
  std::fill(in_degree_.begin(), in_degree_.end(), 0);
  const uint32_t cap = static_cast<uint32_t>(m0_);
  for (uint32_t x = 0; x < num_slots_; ++x) {
    if (ids_[x] == -1) continue;
    const uint32_t* list = Links(x, 0);
    const uint32_t n = std::min(LoadLink(list), cap);
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t y = LoadLink(list + 1 + i);
      if (y < num_slots_) ++in_degree_[y];
    }
  }
}

bool HnswIndex::AppendLink(uint32_t from, uint32_t to) {
  const uint32_t cap = static_cast<uint32_t>(m0_);
  LockNode(from);
  uint32_t* list = Links(from, 0);
  const uint32_t n = std::min(LoadLink(list), cap);
  const bool room =
      n < cap && std::find(list + 1, list + 1 + n, to) == list + 1 + n;
  if (room) {
    StoreLink(list + 1 + n, to);
    StoreLink(list, n + 1);
    CountInLink(to);
  }
  UnlockNode(from);
  return room;
}

template <typename Linkable>
uint32_t HnswIndex::LinkIn(uint32_t x, const Linkable& linkable, Scratch& s,
                           bool* dropped) {
  const hnsw::EntryPoint entry =
      UnpackEntry(entry_.load(std::memory_order_relaxed));
  const char* base =
      quantized_ ? reinterpret_cast<const char*>(full_.data()) : level0_;
  const size_t stride = quantized_ ? dim_ * sizeof(float) : block_bytes_;
  const uint32_t cap = static_cast<uint32_t>(m0_);
  // The linkable nodes nearest to x, as an insert would find them.
  FloatSpace space(*this, FullVector(x), base, stride);
  uint32_t ep = entry.slot;
  float d_ep = space.Dist(ep);
  ep = GreedyDescend(space, ep, &d_ep, entry.level, 0);
  if (!linkable(ep)) {
    ep = entry.slot;
    d_ep = space.Dist(ep);
  }
  SearchLayer(space, ep, d_ep, 0, options_.ef_construction, linkable, s);
  auto& near = s.select;
  near.assign(s.results.begin(), s.results.end());
  std::sort(
      near.begin(), near.end(),
      [](const Candidate& a, const Candidate& b) { return ByDistance(a, b); });
  for (const Candidate& c : near) {
    if (AppendLink(c.slot, x)) return c.slot;
  }
  // Every near list is full: the nearest linkable node with room.
  uint32_t from = kNoSlot;
  float best = std::numeric_limits<float>::infinity();
  for (uint32_t y = 0; y < num_slots_; ++y) {
    if (linkable(y) && LoadLink(Links(y, 0)) < cap) {
      const float d = space.Dist(y);
      if (d < best) {
        best = d;
        from = y;
      }
    }
  }
  if (from != kNoSlot && AppendLink(from, x)) return from;
  // No linkable list has room: the nearest gives up its last link.
  from = near.empty() ? entry.slot : near.front().slot;
  LockNode(from);
  uint32_t* list = Links(from, 0);
  const uint32_t n = std::min(LoadLink(list), cap);
  // Counted as the list ends up: x and any words the new count exposes come
  // in, the replaced last link goes.
  const uint32_t replaced = n > 0 ? LoadLink(list + n) : kNoSlot;
  StoreLink(list + n, x);
  StoreLink(list, cap);
  for (uint32_t i = n; i <= cap; ++i) {
    if (i > 0 && LoadLink(list + i) < num_slots_)
      CountInLink(LoadLink(list + i));
  }
  if (replaced < num_slots_) UncountInLink(replaced);
  UnlockNode(from);
  *dropped = true;
  return from;
}

void HnswIndex::LinkUnreachable(std::vector<uint8_t>& reached,
                                std::vector<uint32_t>& queue, Scratch& s) {
  const uint64_t e = entry_.load(std::memory_order_relaxed);
  if (e == kNoEntry) return;
  const uint32_t entry = UnpackEntry(e).slot;
  const uint32_t cap = static_cast<uint32_t>(m0_);
  // Marks what a level-0 walk from `from` reaches.
  const auto walk = [&](uint32_t from) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    queue.clear();
    queue.push_back(from);
    reached[from] = 1;
    for (size_t head = 0; head < queue.size(); ++head) {
      const uint32_t* list = Links(queue[head], 0);
      const uint32_t n = std::min(LoadLink(list), cap);
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t y = LoadLink(list + 1 + i);
        if (!reached[y]) {
          reached[y] = 1;
          queue.push_back(y);
        }
      }
    }
  };
  const auto is_reached = [&](uint32_t y) { return reached[y] != 0; };
  // A node that drops a link to make room may strand what only that link
  // reached, so such a pass is followed by another (bounded; the walk keeps
  // its links whenever any reached node has room, which is all but certain).
  for (int pass = 0; pass < 4; ++pass) {
    std::fill(reached.begin(), reached.end(), 0);
    walk(entry);
    bool dropped = false;
    for (uint32_t x = 0; x < num_slots_; ++x) {
      if (ids_[x] == -1 || reached[x]) continue;
      const uint32_t from = LinkIn(x, is_reached, s, &dropped);
      AppendLink(x, from);  // A way back, when x has room.
      walk(x);
    }
    if (!dropped) return;
  }
}

void HnswIndex::LinkOrphans(const std::vector<uint32_t>& added, Scratch& s) {
  const uint64_t e = entry_.load(std::memory_order_relaxed);
  if (e == kNoEntry) return;
  const uint32_t entry = UnpackEntry(e).slot;
  // A node no list links to is certainly unreachable: the new nodes that
  // pruning left out of every list, and the old ones whose last link into
  // them pruning dropped (recorded by UncountInLink).
  const auto orphan = [&](uint32_t x) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return ids_[x] != -1 && x != entry && in_degree_[x] == 0;
  };
  // Linked from a node something links to (or the entry): not a proof of
  // reachability (a group may link only to itself), which the full walk of
  // LinkUnreachable checks now and then.
  const auto linkable = [&](uint32_t y) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return ids_[y] != -1 && (y == entry || in_degree_[y] > 0);
  };
  std::vector<uint32_t> todo;
  for (uint32_t x : added) {
    if (orphan(x)) todo.push_back(x);
  }
  // Linking a node in may replace another's last link (rare); the orphans
  // that makes are linked in the next round (bounded, as in LinkUnreachable).
  for (int round = 0; round < 4; ++round) {
    {
      internal::MutexLock lock(orphans_mu_);
      todo.insert(todo.end(), orphans_.begin(), orphans_.end());
      orphans_.clear();
    }
    if (todo.empty()) return;
    for (uint32_t x : todo) {
      if (!orphan(x)) continue;
      bool dropped = false;
      const uint32_t from = LinkIn(
          x, [&](uint32_t y) { return y != x && linkable(y); }, s, &dropped);
      AppendLink(x, from);  // A way back, when x has room.
    }
    todo.clear();
  }
}

std::vector<uint32_t> HnswIndex::UnreachableSlotsForTesting() const {
  internal::ReaderLock lock(mu_);
  std::vector<uint32_t> unreachable;
  const uint64_t e = entry_.load();
  std::vector<uint8_t> seen(num_slots_, 0);
  if (e != kNoEntry) {
    std::vector<uint32_t> queue = {UnpackEntry(e).slot};
    seen[queue[0]] = 1;
    for (size_t head = 0; head < queue.size(); ++head) {
      const uint32_t* list = Links(queue[head], 0);
      for (uint32_t i = 0; i < list[0]; ++i) {
        const uint32_t y = list[1 + i];
        if (y < num_slots_ && !seen[y]) {
          seen[y] = 1;
          queue.push_back(y);
        }
      }
    }
  }
  for (uint32_t x = 0; x < num_slots_; ++x) {
    if (ids_[x] != -1 && !seen[x]) unreachable.push_back(x);
  }
  return unreachable;
}

std::vector<uint32_t> HnswIndex::OrphanSlotsForTesting() const {
  internal::ReaderLock lock(mu_);
  std::vector<uint8_t> linked(num_slots_, 0);
  for (uint32_t x = 0; x < num_slots_; ++x) {
    if (ids_[x] == -1) continue;
    const uint32_t* list = Links(x, 0);
    for (uint32_t i = 0; i < list[0]; ++i) {
      if (list[1 + i] < num_slots_) linked[list[1 + i]] = 1;
    }
  }
  const uint64_t e = entry_.load();
  std::vector<uint32_t> orphans;
  for (uint32_t x = 0; x < num_slots_; ++x) {
    if (ids_[x] != -1 && !linked[x] &&
        (e == kNoEntry || x != UnpackEntry(e).slot)) {
      orphans.push_back(x);
    }
  }
  return orphans;
}

}  // namespace vindex
