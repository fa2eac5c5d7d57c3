// HNSW remove: plans the repair of every list that points at a removed node
// (while searches run), then writes the repairs and frees the slots.
#include <algorithm>
#include <cstdint>
#include <new>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/allocation.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/search_layer.h"
#include "index/hnsw/spaces.h"
#include "index/hnsw/storage.h"

namespace vindex {

using hnsw::ByDistance;
using hnsw::kFreeEpoch;
using hnsw::kNoEntry;
using hnsw::PackEntry;
using hnsw::UnpackEntry;

template <typename OnRepair>
void HnswIndex::PlanRepairs(const std::vector<uint8_t>& removed, Scratch& s,
                            OnRepair on_repair) const {
  // Every surviving list that points at a removed node gets a new one.
  // Candidates: a fresh search for the node's neighbourhood on that level
  // (walking through removed nodes, whose links are still intact, but
  // admitting only survivors), its surviving links, and the removed
  // neighbours' links.
  auto& cands = s.select;
  const hnsw::EntryPoint entry =
      UnpackEntry(entry_.load(std::memory_order_relaxed));
  // The exact vectors, owned or (before the first mutation) mapped.
  const char* full_base = reinterpret_cast<const char*>(FullVector(0));
  const size_t full_stride = quantized_ ? dim_ * sizeof(float) : block_bytes_;
  for (uint32_t x = 0; x < num_slots_; ++x) {
    if (ids_[x] == -1 || removed[x]) continue;
    for (int l = 0; l <= levels_[x]; ++l) {
      const uint32_t* list = Links(x, l);
      const uint32_t n = list[0];
      bool touched = false;
      for (uint32_t i = 0; i < n && !touched; ++i)
        touched = removed[list[1 + i]] != 0;
      if (!touched) continue;
      const float* v = FullVector(x);
      FloatSpace space(*this, v, full_base, full_stride);
      float d_ep = space.Dist(entry.slot);
      const uint32_t ep =
          GreedyDescend(space, entry.slot, &d_ep, entry.level, l);
      const auto survivor = [&](uint32_t y) { return !removed[y] && y != x; };
      SearchLayer(space, ep, d_ep, l, options_.ef_construction, survivor, s);
      s.visited.Reset(num_slots_);
      s.visited.Mark(x);
      cands.clear();
      auto offer = [&](uint32_t y) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        if (!removed[y] && !s.visited.TestAndMark(y)) {
          cands.push_back({Distance(v, FullVector(y)), y});
        }
      };
      for (const Candidate& c : s.results) {
        if (!s.visited.TestAndMark(c.slot)) cands.push_back(c);
      }
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t y = list[1 + i];
        if (!removed[y]) {
          offer(y);
          continue;
        }
        const uint32_t* ylist = Links(y, l);
        for (uint32_t j = 0; j < ylist[0]; ++j) offer(ylist[1 + j]);
      }
      std::sort(cands.begin(), cands.end(),
                [](const Candidate& a, const Candidate& b) {
                  return ByDistance(a, b);
                });
      SelectNeighbors(v, cands, Capacity(l), /*alpha=*/1.0f, nullptr);
      on_repair(x, l, cands);
    }
  }
}

absl::Status HnswIndex::RemoveImpl(absl::Span<const int64_t> ids) {
  VINDEX_RETURN_IF_ERROR(internal::CheckNoRepeats(ids, "Remove"));
  internal::MutexLock mutation(mutation_mu_);
  // Two phases. The repairs are planned under the shared lock, so searches
  // keep running while the graph is read and re-searched (no other mutation
  // can run: we hold mutation_mu_). Only copying a mapped index first,
  // writing the repairs, back-linking and freeing the slots take the
  // exclusive lock.
  struct Repair {
    uint32_t slot;
    int level;
    std::vector<uint32_t> links;   // The new list, survivors only.
    std::vector<Candidate> fresh;  // Its links not in the old list.
  };
  std::vector<uint8_t> removed;
  std::vector<uint32_t> gone;
  std::vector<Repair> repairs;
  auto s = scratch_.Acquire();
  {
    internal::ReaderLock lock(mu_);
    for (int64_t id : ids) {
      if (!row_of_.Contains(id)) {
        return absl::NotFoundError(
            absl::StrCat("id ", id, " is not in the index"));
      }
    }
    if (ids.empty()) return absl::OkStatus();
  }
  {
    // The plan reads links unchecked: from the copy (see Grow), never from a
    // mapping that may have changed.
    internal::WriterLock lock(mu_);
    VINDEX_RETURN_IF_ERROR(UnmapLocked());
  }
  {
    internal::ReaderLock lock(mu_);
    VINDEX_RETURN_IF_ERROR(internal::TryAllocate(
        "removing from the HNSW index", [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          removed.assign(num_slots_, 0);
          gone.reserve(ids.size());
          for (int64_t id : ids) {
            const uint32_t slot = row_of_.Find(id);
            removed[slot] = 1;
            gone.push_back(slot);
          }
          PlanRepairs(
              removed, *s,
              [&](uint32_t x, int l, const std::vector<Candidate>& links)
                  ABSL_NO_THREAD_SAFETY_ANALYSIS {
                    Repair r{x, l, {}, {}};
                    const uint32_t* old = Links(x, l);
                    for (const Candidate& c : links) {
                      r.links.push_back(c.slot);
                      if (std::find(old + 1, old + 1 + old[0], c.slot) ==
                          old + 1 + old[0])
                        r.fresh.push_back(c);
                    }
                    repairs.push_back(std::move(r));
                  });
        }));
  }

  internal::WriterLock lock(mu_);
  std::vector<uint8_t> reached;  // For LinkUnreachable.
  std::vector<uint32_t> queue;
  VINDEX_RETURN_IF_ERROR(internal::TryAllocate(
      "removing from the HNSW index", [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        free_slots_.reserve(free_slots_.size() + ids.size());
        reached.resize(num_slots_);
        queue.reserve(num_slots_);
        // Connect's scratch at its largest (a full level-0 list and the new
        // link), so that no back-link below can fail after the first list
        // is rewritten.
        s->prune.reserve(m0_ + 1);
        s->prune_candidates.reserve(m0_ + 1);
      }));
  // Every new list first, then the back-links from each list's new
  // neighbours, as an insert would add them (one may prune the neighbour's
  // list; none re-adds a removed node), so no later list write drops them.
  for (const Repair& r : repairs) {
    uint32_t* list = Links(r.slot, r.level);
    for (size_t i = 0; i < r.links.size(); ++i) list[1 + i] = r.links[i];
    list[0] = static_cast<uint32_t>(r.links.size());
  }
  for (const Repair& r : repairs) {
    for (const Candidate& c : r.fresh) {
      const uint32_t* back = Links(c.slot, r.level);
      if (std::find(back + 1, back + 1 + back[0], r.slot) == back + 1 + back[0])
        Connect(c.slot, r.slot, c.d, r.level, *s);
    }
  }
  for (uint32_t r : gone) {
    row_of_.Erase(ids_[r]);
    ids_[r] = -1;
    upper_words_ -= size_t{levels_[r]} * (1 + m_);
    upper_[r].reset();
    levels_[r] = 0;
    *Links(r, 0) = 0;
    epochs_[r] = kFreeEpoch;
    free_slots_.push_back(r);
  }
  live_ -= static_cast<int64_t>(gone.size());
  const uint64_t e = entry_.load(std::memory_order_relaxed);
  if (e != kNoEntry && removed[UnpackEntry(e).slot]) {
    uint64_t best = kNoEntry;
    int best_level = -1;
    for (uint32_t x = 0; x < num_slots_; ++x) {
      if (ids_[x] != -1 && levels_[x] > best_level) {
        best_level = levels_[x];
        best = PackEntry({best_level, x});
      }
    }
    entry_.store(best, std::memory_order_release);
  }
  if (live_ == 0) entry_.store(kNoEntry, std::memory_order_release);
  // The repaired lists may leave a group of survivors without a way in; the
  // walk links them in and rebuilds the reachability tree.
  // Every removal is done by now. A walk that runs out of memory leaves a
  // consistent index whose tree is not current: the next Add or Remove walks
  // again.
  try {
    tree_current_ = LinkUnreachable(reached, queue, *s);
  } catch (const std::bad_alloc&) {
    tree_current_ = false;
  } catch (const std::length_error&) {
    tree_current_ = false;
  }
  added_since_link_check_ = 0;
  return absl::OkStatus();
}

}  // namespace vindex
