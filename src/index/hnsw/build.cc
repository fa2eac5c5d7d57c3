// HNSW build: neighbour selection (the paper's diversity heuristic), linking
// with pruning, one node's insert, and the Add and Train calls around them.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/allocation.h"
#include "core/metric_space.h"
#include "core/parallel.h"
#include "core/status_macros.h"
#include "core/validate.h"
#include "index/hnsw/diversity.h"
#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/search_layer.h"
#include "index/hnsw/spaces.h"
#include "index/hnsw/storage.h"

namespace vindex {

using hnsw::ByDistance;
using hnsw::kFreeEpoch;
using hnsw::kNoEntry;
using hnsw::kNoSlot;
using hnsw::LoadLink;
using hnsw::PackEntry;
using hnsw::StoreLink;
using hnsw::UnpackEntry;

// An Add runs LinkUnreachable when the vectors added since its last run reach
// 1/kLinkCheckShare of the slots: a pass over the graph costs about as much
// as inserting a few dozen vectors, so this bounds its share of insert time.
constexpr uint64_t kLinkCheckShare = 16;

void HnswIndex::SelectNeighbors(const float* base,
                                std::vector<Candidate>& cands, int max,
                                float alpha,
                                std::vector<Candidate>* passed_over) const {
  if (cands.size() <= static_cast<size_t>(max)) return;
  // Exact copies of the base never dominate one another (every distance
  // among them ties), so without a cap a group of copies fills its lists
  // with itself and links nowhere else. One copy is kept, and it dominates
  // nothing: it stands for the base itself.
  const float self =
      options_.metric == Metric::kL2 ? 0.0f : Distance(base, base);
  const auto is_copy = [&](const Candidate& c) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return c.d == self && std::equal(base, base + dim_, FullVector(c.slot));
  };
  constexpr size_t kNone = std::numeric_limits<size_t>::max();
  size_t copy_at = kNone;  // The kept copy, if any.
  size_t kept = 0;
  // Whether no kept neighbour dominates candidate c under relaxation a.
  const auto diverse_under = [&](const Candidate& c,
                                 float a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const float* v = FullVector(c.slot);
    for (size_t j = 0; j < kept; ++j) {
      if (j != copy_at &&
          hnsw::Dominates(options_.metric, a,
                          Distance(v, FullVector(cands[j].slot)), c.d)) {
        return false;
      }
    }
    return true;
  };
  const bool relax = alpha > 1.0f && passed_over != nullptr &&
                     options_.metric != Metric::kInnerProduct;
  if (relax) passed_over->clear();
  // The strict heuristic first, so every link it picks stays; then, while
  // places are left, the candidates it pruned that the relaxed test passes,
  // nearest first.
  for (size_t i = 0; i < cands.size() && kept < static_cast<size_t>(max); ++i) {
    const bool copy = is_copy(cands[i]);
    if ((!copy || copy_at == kNone) && diverse_under(cands[i], 1.0f)) {
      if (copy) copy_at = kept;
      cands[kept++] = cands[i];
    } else if (relax && !copy) {
      passed_over->push_back(cands[i]);
    }
  }
  if (relax) {
    for (size_t i = 0;
         i < passed_over->size() && kept < static_cast<size_t>(max); ++i) {
      const Candidate c = (*passed_over)[i];
      if (diverse_under(c, alpha)) cands[kept++] = c;
    }
  }
  cands.resize(kept);
}

void HnswIndex::Connect(uint32_t from, uint32_t to, float d, int level,
                        Scratch& s) {
  const uint32_t cap = static_cast<uint32_t>(Capacity(level));
  const ScopedNodeLock lock(*this, from);
  uint32_t* list = Links(from, level);
  const uint32_t n = std::min(LoadLink(list), cap);
  if (n < cap) {
    StoreLink(list + 1 + n, to);
    StoreLink(list, n + 1);
  } else {
    auto& p = s.prune;
    p.clear();
    p.push_back({d, to});
    const float* v = FullVector(from);
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t x = LoadLink(list + 1 + i);
      p.push_back({Distance(v, FullVector(x)), x});
    }
    std::sort(p.begin(), p.end(), [](const Candidate& a, const Candidate& b) {
      return ByDistance(a, b);
    });
    auto& candidates = s.prune_candidates;
    if (level == 0) candidates.assign(p.begin(), p.end());
    SelectNeighbors(v, p, static_cast<int>(cap), /*alpha=*/1.0f, nullptr);
    if (level == 0) {
      // The kept list is a subsequence of the sorted candidates (the old
      // links and `to`): walk both to report the old links it drops.
      size_t next = 0;
      for (const Candidate& c : candidates) {
        if (next < p.size() && p[next].slot == c.slot) {
          ++next;
        } else if (c.slot != to) {
          DropLink(from, c.slot);
        }
      }
    }
    for (size_t i = 0; i < p.size(); ++i) StoreLink(list + 1 + i, p[i].slot);
    StoreLink(list, static_cast<uint32_t>(p.size()));
  }
}

void HnswIndex::Insert(uint32_t slot, Scratch& s) {
  const int level = levels_[slot];
  const float* v = FullVector(slot);
  const char* base =
      quantized_ ? reinterpret_cast<const char*>(full_.data()) : level0_;
  const size_t stride = quantized_ ? dim_ * sizeof(float) : block_bytes_;
  FloatSpace space(*this, v, base, stride);

  std::unique_lock<std::mutex> top_lock(top_mu_, std::defer_lock);
  uint64_t e = entry_.load(std::memory_order_acquire);
  if (level > UnpackEntry(e).level) {
    top_lock.lock();
    e = entry_.load(std::memory_order_acquire);
  }
  const int top = UnpackEntry(e).level;
  uint32_t ep = UnpackEntry(e).slot;
  float d_ep = space.Dist(ep);
  ep = GreedyDescend(space, ep, &d_ep, top, level);
  // Chooses the lists of every level first, top down. The node stays
  // unreachable meanwhile (nothing links to it yet), so no concurrent insert
  // can walk into its unwritten lists or append to a list it then rewrites.
  const int first = std::min(level, top);
  auto& chosen = s.chosen;
  chosen.clear();
  s.chosen_end.assign(first + 1, 0);
  for (int l = first; l >= 0; --l) {
    SearchLayer(space, ep, d_ep, l, options_.ef_construction, AdmitAll{}, s);
    auto& sel = s.select;
    sel.clear();
    for (const Candidate& c : s.results) {
      if (c.slot != slot) sel.push_back(c);
    }
    if (!sel.empty()) {
      std::sort(sel.begin(), sel.end(),
                [](const Candidate& a, const Candidate& b) {
                  return ByDistance(a, b);
                });
      ep = sel.front().slot;
      d_ep = sel.front().d;
      SelectNeighbors(v, sel, m_, options_.alpha, &s.passed_over);
    }
    chosen.insert(chosen.end(), sel.begin(), sel.end());
    s.chosen_end[l] = chosen.size();
  }
  {
    const ScopedNodeLock lock(*this, slot);
    for (int l = first; l >= 0; --l) {
      const size_t begin = l == first ? 0 : s.chosen_end[l + 1];
      uint32_t* own = Links(slot, l);
      for (size_t i = begin; i < s.chosen_end[l]; ++i) {
        StoreLink(own + 1 + (i - begin), chosen[i].slot);
      }
      StoreLink(own, static_cast<uint32_t>(s.chosen_end[l] - begin));
    }
  }
  // Links in bottom up: once the node is reachable on a level, its lists on
  // that level and below are complete.
  for (int l = 0; l <= first; ++l) {
    const size_t begin = l == first ? 0 : s.chosen_end[l + 1];
    for (size_t i = begin; i < s.chosen_end[l]; ++i)
      Connect(chosen[i].slot, slot, chosen[i].d, l, s);
  }
  if (level > top)
    entry_.store(PackEntry({level, slot}), std::memory_order_release);
}

absl::Status HnswIndex::TrainImpl(MatrixView<const float> samples, Executor*) {
  VINDEX_RETURN_IF_ERROR(internal::CheckMatrix(samples, dim_, "training vector",
                                               /*allow_empty=*/true));
  if (sq_bits_ == 0 || samples.rows == 0) return absl::OkStatus();
  internal::MutexLock mutation(mutation_mu_);
  internal::WriterLock lock(mu_);
  if (live_ > 0 || num_slots_ > 0) {
    return absl::FailedPreconditionError(
        "cannot retrain the scalar quantizer of a non-empty index");
  }
  std::vector<float> rows;
  VINDEX_RETURN_IF_ERROR(internal::CopyRows(
      samples, options_.metric == Metric::kCosine, &rows, "training vector"));
  sq_.Fit(rows.data(), samples.rows, dim_);
  return absl::OkStatus();
}

absl::Status HnswIndex::AddImpl(MatrixView<const float> vectors,
                                absl::Span<const int64_t> ids,
                                Executor* executor) {
  VINDEX_RETURN_IF_ERROR(internal::CheckMatrix(vectors, dim_, "vector"));
  VINDEX_RETURN_IF_ERROR(internal::CheckNewIds(ids, vectors.rows));
  std::vector<float> rows;
  VINDEX_RETURN_IF_ERROR(internal::TryAllocate("copying vectors", [&] {
    return internal::CopyRows(vectors, options_.metric == Metric::kCosine,
                              &rows, "vector");
  }));
  const int64_t n = vectors.rows;
  internal::MutexLock mutation(mutation_mu_);
  std::vector<uint32_t> slots(n);
  std::vector<uint8_t> reached;  // For LinkUnreachable, sized in phase 1.
  std::exception_ptr linking_failed;
  std::vector<uint32_t> queue;
  bool check_links = false;
  bool tree_complete = false;
  uint32_t epoch = 0;
  int64_t first = 0;
  {
    // Phase 1 (exclusive): every allocation and every non-link write.
    internal::WriterLock lock(mu_);
    for (int64_t id : ids) {
      if (row_of_.Contains(id)) {
        return absl::InvalidArgumentError(
            absl::StrCat("id ", id, " is already in the index"));
      }
    }
    const int64_t reuse = std::min<int64_t>(n, free_slots_.size());
    const uint64_t need = uint64_t{num_slots_} + (n - reuse);
    if (need >= std::numeric_limits<uint32_t>::max() - 1) {
      return absl::ResourceExhaustedError(
          "HNSW holds at most 2^32 - 2 vectors");
    }
    std::vector<std::unique_ptr<uint32_t[]>> upper(n);
    std::vector<uint8_t> levels(n);
    for (int64_t i = 0; i < n; ++i)
      levels[i] = static_cast<uint8_t>(DrawLevel(insert_counter_ + i));
    // The level-0 walk costs a pass over the graph, so it runs once the
    // vectors added since the last one are 1/kLinkCheckShare of the index,
    // and whenever the reachability tree cannot be repaired instead: it is
    // not current (or the index is empty), or the entry point (its root)
    // moves to a new node.
    const uint64_t e = entry_.load(std::memory_order_relaxed);
    const bool new_top =
        e != kNoEntry && n > 0 &&
        *std::max_element(levels.begin(), levels.end()) > UnpackEntry(e).level;
    VINDEX_RETURN_IF_ERROR(internal::TryAllocate(
        "growing the HNSW index", [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          Grow(static_cast<uint32_t>(need));
          // Grow may find the tree stale (a copied mapping).
          check_links =
              (added_since_link_check_ + n) * kLinkCheckShare >= need ||
              !tree_current_ || e == kNoEntry || new_top;
          if (check_links) {
            reached.resize(need);
            queue.reserve(need);
          }
          row_of_.Reserve(row_of_.size() + n);
          for (int64_t i = 0; i < n; ++i) {
            if (levels[i] > 0) {
              upper[i].reset(new uint32_t[size_t{levels[i]} * (1 + m_)]());
            }
          }
          if (sq_bits_ != 0 && !sq_.fitted()) sq_.Fit(rows.data(), n, dim_);
        }));
    // Nothing below fails; linking (phase 2) can run out of scratch memory.
    insert_counter_ += n;
    added_since_link_check_ = check_links ? 0 : added_since_link_check_ + n;
    if (published_epoch_.load(std::memory_order_relaxed) >= kFreeEpoch - 1) {
      // The next epoch would be the free marker: restart the count. No
      // search runs under the exclusive lock, so none sees the change.
      for (uint32_t x = 0; x < num_slots_; ++x) {
        if (ids_[x] != -1) epochs_[x] = 0;
      }
      published_epoch_.store(0, std::memory_order_relaxed);
    }
    epoch = published_epoch_.load(std::memory_order_relaxed) + 1;
    pending_epoch_ = epoch;
    collect_cuts_ = !check_links;
    for (int64_t i = 0; i < n; ++i) {
      uint32_t slot;
      if (i < reuse) {
        slot = free_slots_.back();
        free_slots_.pop_back();
      } else {
        slot = num_slots_++;
      }
      slots[i] = slot;
      WritePayload(slot, rows.data() + i * dim_);
      *Links(slot, 0) = 0;
      ids_[slot] = ids[i];
      row_of_.Insert(slot);
      levels_[slot] = levels[i];
      upper_[slot] = std::move(upper[i]);
      upper_words_ += size_t{levels[i]} * (1 + m_);
      epochs_[slot] = epoch;
      parent_[slot] = kNoSlot;
    }
    if (entry_.load(std::memory_order_relaxed) == kNoEntry) {
      entry_.store(PackEntry({levels_[slots[0]], slots[0]}),
                   std::memory_order_release);
      first = 1;
    }
  }
  {
    // Phase 2 (shared): link the new nodes in parallel; searches may run.
    internal::ReaderLock lock(mu_);
    const int64_t todo = n - first;
    const int64_t grain = std::clamp<int64_t>(
        todo / (8 * internal::NumThreads(executor)), 1, 256);
    try {
      internal::ParallelForRange(executor, todo, grain,
                                 [&](int64_t b, int64_t e)
                                     ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                       auto s = scratch_.Acquire();
                                       for (int64_t i = b; i < e; ++i)
                                         Insert(slots[first + i], *s);
                                     });
      // Between full walks, the tree repair links in whatever this Add's
      // pruning cut off (and the new nodes) touching only those nodes and
      // their neighbours; either way every live node ends reachable.
      auto s = scratch_.Acquire();
      if (!check_links && !RepairTree(slots, *s)) {
        reached.resize(num_slots_);
        queue.reserve(num_slots_);
        check_links = true;
      }
      tree_complete = !check_links || LinkUnreachable(reached, queue, *s);
    } catch (...) {
      // Scratch ran out of memory mid-link. The batch is stored and partly
      // linked, and links cannot be taken back: publish it as it is, have
      // the next write repair reachability, and report the failure.
      linking_failed = std::current_exception();
    }
  }
  // Phase 3: publish the batch at once.
  internal::WriterLock lock(mu_);
  collect_cuts_ = false;
  {
    internal::MutexLock cuts(cuts_mu_);
    cuts_.clear();
  }
  tree_current_ = tree_complete && !linking_failed;
  published_epoch_.store(epoch, std::memory_order_release);
  live_ += n;
  if (linking_failed) {
    added_since_link_check_ = std::max<uint64_t>(added_since_link_check_,
                                                 num_slots_ / kLinkCheckShare);
    std::rethrow_exception(linking_failed);
  }
  return absl::OkStatus();
}

}  // namespace vindex
