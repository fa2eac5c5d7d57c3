// HNSW reachability: finds the live nodes a level-0 walk from the entry point
// does not reach and links each in from its nearest reached node.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <shared_mutex>
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

void HnswIndex::LinkUnreachable(std::vector<uint8_t>& reached,
                                std::vector<uint32_t>& queue, Scratch& s) {
  const uint64_t e = entry_.load(std::memory_order_relaxed);
  if (e == kNoEntry) return;
  const uint32_t entry = UnpackEntry(e).slot;
  const int top = UnpackEntry(e).level;
  const char* base =
      quantized_ ? reinterpret_cast<const char*>(full_.data()) : level0_;
  const size_t stride = quantized_ ? dim_ * sizeof(float) : block_bytes_;
  const uint32_t cap = static_cast<uint32_t>(m0_);
  // Marks what a level-0 walk from `from` reaches.
  const auto walk = [&](uint32_t from) {
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
  // Appends `to` to the level-0 list of `from` if it has room.
  const auto append = [&](uint32_t from, uint32_t to) {
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
  };
  // A node that drops a link to make room may strand what only that link
  // reached, so such a pass is followed by another (bounded; the walk keeps
  // its links whenever any reached node has room, which is all but certain).
  for (int pass = 0; pass < 4; ++pass) {
    std::fill(reached.begin(), reached.end(), 0);
    walk(entry);
    bool dropped = false;
    for (uint32_t x = 0; x < num_slots_; ++x) {
      if (ids_[x] == -1 || reached[x]) continue;
      // The reached nodes nearest to x, as an insert would find them.
      FloatSpace space(*this, FullVector(x), base, stride);
      uint32_t ep = entry;
      float d_ep = space.Dist(ep);
      ep = GreedyDescend(space, ep, &d_ep, top, 0);
      if (!reached[ep]) {
        ep = entry;
        d_ep = space.Dist(ep);
      }
      SearchLayer(
          space, ep, d_ep, 0, options_.ef_construction,
          [&](uint32_t y) { return reached[y] != 0; }, s);
      auto& near = s.select;
      near.assign(s.results.begin(), s.results.end());
      std::sort(near.begin(), near.end(),
                [](const Candidate& a, const Candidate& b) {
                  return ByDistance(a, b);
                });
      uint32_t from = kNoSlot;
      for (const Candidate& c : near) {
        if (append(c.slot, x)) {
          from = c.slot;
          break;
        }
      }
      if (from == kNoSlot) {
        // Every near list is full: the nearest reached node with room.
        float best = std::numeric_limits<float>::infinity();
        for (uint32_t y = 0; y < num_slots_; ++y) {
          if (reached[y] && LoadLink(Links(y, 0)) < cap) {
            const float d = space.Dist(y);
            if (d < best) {
              best = d;
              from = y;
            }
          }
        }
        if (from != kNoSlot && !append(from, x)) from = kNoSlot;
      }
      if (from == kNoSlot) {
        // No reached list has room: the nearest gives up its last link.
        from = near.empty() ? entry : near.front().slot;
        LockNode(from);
        uint32_t* list = Links(from, 0);
        StoreLink(list + std::min(LoadLink(list), cap), x);
        StoreLink(list, cap);
        UnlockNode(from);
        dropped = true;
      }
      append(x, from);  // A way back, when x has room.
      walk(x);
    }
    if (!dropped) return;
  }
}

std::vector<uint32_t> HnswIndex::UnreachableSlotsForTesting() const {
  std::shared_lock lock(mu_);
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

}  // namespace vindex
