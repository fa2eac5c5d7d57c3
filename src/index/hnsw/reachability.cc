// HNSW reachability: the reachability tree (a parent and a depth per node),
// its repair after an Add, linking in a node that has no way in, and the
// full walk that rebuilds the tree and links in every live node the entry
// point does not reach.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/search_layer.h"
#include "index/hnsw/spaces.h"
#include "index/hnsw/storage.h"

namespace vindex {

using hnsw::ByDistance;
using hnsw::kNoDepth;
using hnsw::kNoEntry;
using hnsw::kNoSlot;
using hnsw::LoadLink;
using hnsw::StoreLink;
using hnsw::UnpackEntry;

void HnswIndex::DropLink(uint32_t from, uint32_t y) {
  if (collect_cuts_ && parent_[y] == from) {
    internal::MutexLock lock(cuts_mu_);
    cuts_.push_back(y);
  }
}

bool HnswIndex::LinksTo(uint32_t from, uint32_t to) const {
  const uint32_t* list = Links(from, 0);
  const uint32_t n = std::min(LoadLink(list), static_cast<uint32_t>(m0_));
  for (uint32_t i = 0; i < n; ++i) {
    if (LoadLink(list + 1 + i) == to) return true;
  }
  return false;
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
  const uint32_t replaced = n > 0 ? LoadLink(list + n) : kNoSlot;
  StoreLink(list + n, x);
  StoreLink(list, cap);
  if (replaced < num_slots_) DropLink(from, replaced);
  UnlockNode(from);
  *dropped = true;
  return from;
}

bool HnswIndex::LinkUnreachable(std::vector<uint8_t>& reached,
                                std::vector<uint32_t>& queue, Scratch& s) {
  const uint64_t e = entry_.load(std::memory_order_relaxed);
  if (e == kNoEntry) return true;
  const uint32_t entry = UnpackEntry(e).slot;
  const uint32_t cap = static_cast<uint32_t>(m0_);
  // Marks what a level-0 walk from `from` reaches, each reached node the
  // child of the node it was reached from.
  const auto walk = [&](uint32_t from) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    queue.clear();
    queue.push_back(from);
    reached[from] = 1;
    for (size_t head = 0; head < queue.size(); ++head) {
      const uint32_t x = queue[head];
      const uint32_t* list = Links(x, 0);
      const uint32_t n = std::min(LoadLink(list), cap);
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t y = LoadLink(list + 1 + i);
        if (!reached[y]) {
          reached[y] = 1;
          parent_[y] = x;
          depth_[y] = depth_[x] + 1;
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
    parent_[entry] = kNoSlot;
    depth_[entry] = 0;
    walk(entry);
    bool dropped = false;
    for (uint32_t x = 0; x < num_slots_; ++x) {
      if (ids_[x] == -1 || reached[x]) continue;
      const uint32_t from = LinkIn(x, is_reached, s, &dropped);
      AppendLink(x, from);  // A way back, when x has room.
      parent_[x] = from;
      depth_[x] = depth_[from] + 1;
      walk(x);
    }
    if (!dropped) return true;
  }
  return false;
}

bool HnswIndex::RepairTree(const std::vector<uint32_t>& added, Scratch& s) {
  if (entry_.load(std::memory_order_relaxed) == kNoEntry) return true;
  std::vector<uint32_t> cut;
  {
    internal::MutexLock lock(cuts_mu_);
    cut.swap(cuts_);
  }
  // The neighbour of y that links back to it and has the smallest depth
  // (below `below`), or kNoSlot. The depth of a slot without a parent is
  // kNoDepth, so it never qualifies.
  const auto best_parent = [&](uint32_t y,
                               uint32_t below) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    uint32_t best = kNoSlot;
    const uint32_t* list = Links(y, 0);
    const uint32_t n = std::min(LoadLink(list), static_cast<uint32_t>(m0_));
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t z = LoadLink(list + 1 + i);
      if (ids_[z] != -1 && depth_[z] < below && LinksTo(z, y)) {
        below = depth_[z];
        best = z;
      }
    }
    return best;
  };
  // Old slots whose tree edge was dropped, shallowest first. A parent must
  // be shallower than the slot, so it is no descendant of it; and every cut
  // slot shallower than y is repaired before y, so every slot shallower than
  // y is again chained to the entry point when y takes its parent.
  std::sort(cut.begin(), cut.end(),
            [&](uint32_t a, uint32_t b) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return depth_[a] < depth_[b] || (depth_[a] == depth_[b] && a < b);
            });
  cut.erase(std::unique(cut.begin(), cut.end()), cut.end());
  for (uint32_t y : cut) {
    if (ids_[y] == -1 || depth_[y] == kNoDepth) continue;
    if (parent_[y] != kNoSlot && LinksTo(parent_[y], y)) continue;
    uint32_t z = best_parent(y, depth_[y]);
    if (z == kNoSlot) {
      bool dropped = false;
      const uint32_t limit = depth_[y];
      z = LinkIn(
          y,
          [&](uint32_t w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return ids_[w] != -1 && depth_[w] < limit;
          },
          s, &dropped);
      if (dropped) return false;
      AppendLink(y, z);  // A way back, when y has room.
    }
    parent_[y] = z;  // Shallower than y: y keeps its depth.
  }
  // The new slots, which have no descendants yet, so any parent with one
  // will do; a new slot may only be linked from another new one, so this
  // runs until nothing changes.
  std::vector<uint32_t> pending = added;
  for (bool progress = true; progress && !pending.empty();) {
    progress = false;
    size_t left = 0;
    for (uint32_t q : pending) {
      const uint32_t z = best_parent(q, kNoDepth);
      if (z == kNoSlot) {
        pending[left++] = q;
        continue;
      }
      parent_[q] = z;
      depth_[q] = depth_[z] + 1;
      progress = true;
    }
    pending.resize(left);
  }
  for (uint32_t q : pending) {
    bool dropped = false;
    const uint32_t z = LinkIn(
        q,
        [&](uint32_t w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return ids_[w] != -1 && depth_[w] != kNoDepth;
        },
        s, &dropped);
    if (dropped) return false;
    AppendLink(q, z);  // A way back, when q has room.
    parent_[q] = z;
    depth_[q] = depth_[z] + 1;
  }
  return true;
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
