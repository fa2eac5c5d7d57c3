// HNSW reachability: the reachability tree (a parent per node), its repair
// after an Add, linking in a node that has no way in, and the full walk that
// rebuilds the tree and links in every live node the entry point does not
// reach.
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

// A parent chain longer than this is not followed (the slot is then linked
// in anew); the full walk rebuilds the tree as a breadth-first one.
constexpr int kMaxChain = 1 << 12;

bool HnswIndex::Anchored(uint32_t z, uint32_t avoid) const {
  const uint32_t entry =
      UnpackEntry(entry_.load(std::memory_order_relaxed)).slot;
  for (int steps = 0; steps < kMaxChain; ++steps) {
    if (z == avoid) return false;
    if (z == entry) return true;
    z = parent_[z];
    if (z == kNoSlot) return false;
  }
  return false;
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
  const ScopedNodeLock lock(*this, from);
  uint32_t* list = Links(from, 0);
  const uint32_t n = std::min(LoadLink(list), cap);
  const bool room =
      n < cap && std::find(list + 1, list + 1 + n, to) == list + 1 + n;
  if (room) {
    StoreLink(list + 1 + n, to);
    StoreLink(list, n + 1);
  }
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
    if (LinksTo(c.slot, x)) return c.slot;
  }
  for (const Candidate& c : near) {
    if (AppendLink(c.slot, x)) return c.slot;
  }
  // Every near list is full: the nearest linkable node with room.
  uint32_t from = kNoSlot;
  float best = std::numeric_limits<float>::infinity();
  for (uint32_t y = 0; y < num_slots_; ++y) {
    if (LoadLink(Links(y, 0)) < cap && linkable(y)) {
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
  {
    const ScopedNodeLock lock(*this, from);
    uint32_t* list = Links(from, 0);
    const uint32_t n = std::min(LoadLink(list), cap);
    const uint32_t replaced = n > 0 ? LoadLink(list + n) : kNoSlot;
    StoreLink(list + n, x);
    StoreLink(list, cap);
    if (replaced < num_slots_) DropLink(from, replaced);
  }
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
    walk(entry);
    bool dropped = false;
    for (uint32_t x = 0; x < num_slots_; ++x) {
      if (ids_[x] == -1 || reached[x]) continue;
      const uint32_t from = LinkIn(x, is_reached, s, &dropped);
      AppendLink(x, from);  // A way back, when x has room.
      parent_[x] = from;
      walk(x);
    }
    if (!dropped) return true;
  }
  return false;
}

bool HnswIndex::RepairTree(const std::vector<uint32_t>& added, Scratch& s) {
  if (entry_.load(std::memory_order_relaxed) == kNoEntry) return true;
  std::vector<uint32_t> pending;
  {
    internal::MutexLock lock(cuts_mu_);
    pending.swap(cuts_);
  }
  // A cut slot waits for a new parent (and its descendants with it) unless
  // its parent links to it again; a slot recorded twice is kept once.
  size_t left = 0;
  for (uint32_t y : pending) {
    if (ids_[y] != -1 && parent_[y] != kNoSlot && !LinksTo(parent_[y], y)) {
      parent_[y] = kNoSlot;
      pending[left++] = y;
    }
  }
  pending.resize(left);
  pending.insert(pending.end(), added.begin(), added.end());
  // A parent for y: a neighbour that links back to it and is anchored other
  // than through y (so the tree stays acyclic). A waiting slot may only be
  // linked from another one, so this runs until nothing changes.
  const auto adopt = [&](uint32_t y) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const uint32_t* list = Links(y, 0);
    const uint32_t n = std::min(LoadLink(list), static_cast<uint32_t>(m0_));
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t z = LoadLink(list + 1 + i);
      if (ids_[z] != -1 && LinksTo(z, y) && Anchored(z, y)) {
        parent_[y] = z;
        return true;
      }
    }
    return false;
  };
  for (bool progress = true; progress && !pending.empty();) {
    progress = false;
    left = 0;
    for (uint32_t y : pending) {
      if (adopt(y)) {
        progress = true;
      } else {
        pending[left++] = y;
      }
    }
    pending.resize(left);
  }
  // The rest: a neighbour that can link to y, nearest first (no search);
  // else a nearby anchored node that links to y or now will (LinkIn).
  const auto link_from_neighbour =
      [&](uint32_t y) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        const uint32_t* list = Links(y, 0);
        const uint32_t n = std::min(LoadLink(list), static_cast<uint32_t>(m0_));
        for (uint32_t i = 0; i < n; ++i) {
          const uint32_t z = LoadLink(list + 1 + i);
          if (ids_[z] != -1 && Anchored(z, y) && AppendLink(z, y)) {
            parent_[y] = z;
            return true;
          }
        }
        return false;
      };
  for (uint32_t y : pending) {
    if (adopt(y) || link_from_neighbour(y)) continue;
    bool dropped = false;
    const uint32_t z = LinkIn(
        y,
        [&](uint32_t w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return ids_[w] != -1 && Anchored(w, y);
        },
        s, &dropped);
    if (dropped) return false;
    AppendLink(y, z);  // A way back, when y has room.
    parent_[y] = z;
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
