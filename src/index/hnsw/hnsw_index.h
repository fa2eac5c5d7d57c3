// HnswIndex: the HNSW graph index class; its jobs live in the files beside it
// (storage, spaces, build, search, filter_plan, remove, reachability,
// integrity, io).
#ifndef VINDEX_SRC_INDEX_HNSW_HNSW_INDEX_H_
#define VINDEX_SRC_INDEX_HNSW_HNSW_INDEX_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/id_map.h"
#include "core/mutex.h"
#include "core/row_mask.h"
#include "core/rw_mutex.h"
#include "core/scratch_pool.h"
#include "index/leading_axes.h"
#include "io/format.h"
#include "train/scalar_quantizer.h"
#include "vindex/index.h"

namespace vindex {

// Hierarchical navigable small-world graph (Malkov & Yashunin) over caller
// vectors. Every vector lives in a slot; level 0 of each slot is one
// contiguous block (vector payload, then link count and up to 2M links) so a
// graph step touches one region per neighbour; upper-level links live in a
// small per-slot array. With Traversal::kSq8, kSq4 (kFp16) the block holds
// 8-bit or packed 4-bit codes (half floats) that are walked instead of the
// floats, full vectors are kept apart, and the ef final candidates are
// re-ranked exactly. Remove repairs the removed nodes' neighbours at once and
// puts their slots on a free list for later adds. Pruning can leave a node or
// a group with no way in. Contract: when an Add or Remove returns, every live
// node is reachable on level 0 from the entry point (after an Add that ran
// out of memory while linking, or a Remove that ran out in its final walk,
// once the next Add or Remove returns). Every Add repairs the reachability tree
// (see RepairTree) over the nodes it added and those whose tree edge it cut;
// each Remove, and each Add that brings the vectors added since the last check
// to 1/16 of the index, instead walks level 0 from the entry point, links in
// every live node it does not reach and rebuilds the tree.
//
// Loaded through a file mapping (MappedFileReader), the level-0 blocks (and
// the exact vectors of a quantized index) are served from the mapping; the
// first Add or Remove copies them into memory (copy-on-write).
//
// Thread safety: all methods may be called concurrently. Add, Remove, Train
// and Save are serialised against each other. Searches (and info,
// GetVectors) run concurrently with each other and with the parallel insert
// phase of an Add; they never return a vector of an Add that has not
// finished (a batch becomes visible at once when Add returns). Remove
// plans its repairs while searches run, then excludes searches only to
// write them and free the slots; the removed ids stop appearing at once
// when it returns.
class HnswIndex final : public Index, public internal::LeadingAxesFirst {
 public:
  static absl::StatusOr<std::unique_ptr<HnswIndex>> Create(
      const HnswOptions& options);
  // Reads the sections after the header (see io/format.h).
  static absl::StatusOr<std::unique_ptr<Index>> Load(
      const io::FileHeader& header, io::ContainerReader& reader)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;  // Fills an index no one else sees.
  ~HnswIndex() override;

  IndexInfo info() const override;
  Capabilities capabilities() const override;
  absl::Status Train(MatrixView<const float> samples,
                     Executor* executor) override;
  absl::Status Add(MatrixView<const float> vectors,
                   absl::Span<const int64_t> ids, Executor* executor) override;
  absl::Status Search(MatrixView<const float> queries,
                      const SearchParams& params, SearchOutput out,
                      Executor* executor) const override;
  absl::Status Save(Writer& writer) const override;
  absl::Status Remove(absl::Span<const int64_t> ids) override;
  absl::Status GetVectors(absl::Span<const int64_t> ids,
                          MatrixView<float> out) const override;

  // A filtered search scans the allowed rows exhaustively instead of walking
  // the graph when there are at most ScanLimit(n, ef) of them. The walk
  // costs about ef / (allowed fraction) node visits, the scan one distance
  // per allowed row; the constant puts the switch where the two were measured
  // to cost the same (docs/decisions.md, HNSW).
  static double ScanLimit(int64_t n, int ef);
  // Test and bench hook: a fixed switch point as a fraction of the stored
  // vectors (0 = always walk, 1 = always scan), or < 0 for ScanLimit. Not
  // for concurrent use with searches.
  void set_brute_force_fraction_for_testing(double f) {
    brute_force_fraction_ = f;
  }

  // Test hook: checks the graph's invariants (links in range, no link to a
  // free slot or to itself, counts within capacity, entry point at the top
  // level). Returns Internal naming the first violation.
  absl::Status CheckGraphForTesting() const;
  // Test hook: walks level 0 from the entry point over the links and returns
  // the live slots it does not reach (a search can never return those).
  std::vector<uint32_t> UnreachableSlotsForTesting() const;
  // Test hook: the live slots other than the entry point that no level-0 list
  // links to (counted from the lists).
  std::vector<uint32_t> OrphanSlotsForTesting() const;
  // Test hook: the slots in `slot`'s level-0 list, in list order.
  std::vector<uint32_t> Level0LinksForTesting(uint32_t slot) const;
  // Test hook: sets the count of published Adds (the insert epoch), e.g. near
  // its end to exercise the wrap. Not for concurrent use.
  void set_epoch_for_testing(uint32_t epoch);
  // Slots allocated (live + free); stays bounded under remove/re-add churn.
  int64_t slot_capacity_for_testing() const;

  // The cosine float walk then screens long rows (spaces.h).
  void SetLeadingAxesFirst() override { leading_axes_first_ = true; }
  bool leading_axes_first() const { return leading_axes_first_; }

 private:
  // The bodies of the public calls; each public method runs its body inside
  // internal::GuardedCall and does nothing else.
  absl::Status TrainImpl(MatrixView<const float> samples, Executor* executor);
  absl::Status AddImpl(MatrixView<const float> vectors,
                       absl::Span<const int64_t> ids, Executor* executor);
  absl::Status SearchImpl(MatrixView<const float> queries,
                          const SearchParams& params, SearchOutput out,
                          Executor* executor) const;
  absl::Status SaveImpl(Writer& writer) const;
  absl::Status RemoveImpl(absl::Span<const int64_t> ids);
  absl::Status GetVectorsImpl(absl::Span<const int64_t> ids,
                              MatrixView<float> out) const;

  struct Scratch;  // scratch.h
  struct Candidate {
    float d;
    uint32_t slot;
  };
  // spaces.h
  class FloatSpace;
  class SqL2Space;
  class SqIpSpace;
  class Fp16Space;
  // search_layer.h
  struct AdmitAll;
  struct AdmitVisible;
  struct FilterPlan;  // filter_plan.h

  explicit HnswIndex(const HnswOptions& options);

  // Storage (storage.cc). Callers hold mu_ (shared is enough to read).
  char* Block(uint32_t slot) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return level0_ + size_t{slot} * block_bytes_;
  }
  uint32_t* Links(uint32_t slot, int level) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  const float* FullVector(uint32_t slot) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  int Capacity(int level) const { return level == 0 ? m0_ : m_; }
  // Bytes of a node's scalar-quantized codes: dim, or packed 4-bit ones.
  size_t CodeBytes() const {
    return sq_bits_ == 4 ? internal::ScalarQuantizer::PackedBytes(dim_)
                         : static_cast<size_t>(dim_);
  }
  float Distance(const float* a, const float* b) const;
  // Per-node spin lock, held while a link list is rewritten.
  void LockNode(uint32_t slot) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void UnlockNode(uint32_t slot) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Holds a node's lock for a scope and releases it on every exit, a
  // bad_alloc from a rewrite included (a lock left held would stall the
  // next Add on that node forever). Made under mu_, like LockNode.
  class ScopedNodeLock {
   public:
    ScopedNodeLock(const HnswIndex& index,
                   uint32_t slot) ABSL_NO_THREAD_SAFETY_ANALYSIS
        : index_(index),
          slot_(slot) {
      index_.LockNode(slot_);
    }
    ~ScopedNodeLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      index_.UnlockNode(slot_);
    }
    ScopedNodeLock(const ScopedNodeLock&) = delete;
    ScopedNodeLock& operator=(const ScopedNodeLock&) = delete;

   private:
    const HnswIndex& index_;
    const uint32_t slot_;
  };
  // Grows every per-slot array to hold `slots` slots. A mapped index is
  // copied into owned memory even if it has room.
  void Grow(uint32_t slots) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sizes the per-slot arrays other than the level-0 blocks and full_.
  void ResizeSlotArrays(uint64_t cap) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies mapped data into owned memory; no-op when nothing is mapped.
  absl::Status UnmapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Called by Grow on data just copied from a mapping, which may have changed
  // since Load checked it: drops links out of range, zeroes non-finite values.
  void RepairCopiedMapping() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int DrawLevel(uint64_t counter) const;
  void WritePayload(uint32_t slot, const float* v)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The graph walk (search_layer.h). Greedy descent from `ep` on level
  // from_level down to to_level + 1; returns the nearest node found and its
  // distance in *d_ep.
  template <typename Space>
  uint32_t GreedyDescend(const Space& space, uint32_t ep, float* d_ep,
                         int from_level, int to_level) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Best-first walk on one level from `ep`; leaves the ef best admitted nodes
  // in scratch.results (a max-heap).
  template <typename Space, typename Admit>
  void SearchLayer(const Space& space, uint32_t ep, float d_ep, int level,
                   int ef, const Admit& admit, Scratch& s) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Build (build.cc). Keeps at most `max` of `cands` (sorted ascending by
  // distance to `base`), in place, with the diversity heuristic and at most
  // one exact copy of `base`. With `alpha` > 1 and `passed_over` (scratch),
  // the places the heuristic leaves are then filled, nearest first, with
  // the candidates it pruned that no kept neighbour dominates under that
  // relaxation (hnsw::Dominates).
  void SelectNeighbors(const float* base, std::vector<Candidate>& cands,
                       int max, float alpha,
                       std::vector<Candidate>* passed_over) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void Insert(uint32_t slot, Scratch& s) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Adds `to` (at distance d) to the list of `from` on `level`, pruning a
  // full list with SelectNeighbors.
  void Connect(uint32_t from, uint32_t to, float d, int level, Scratch& s)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Search (search.cc, filter_plan.cc).
  template <typename Space>
  void SearchOne(const Space& space, const float* query, int k, int ef,
                 const IdFilter* filter, uint32_t snapshot, Scratch& s,
                 int64_t* out_ids, float* out_d) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Chooses between the filtered graph walk and the exhaustive scan.
  FilterPlan PlanFilter(const IdFilter& filter, uint32_t snapshot, int ef) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void ScanAllowed(const float* query, int k,
                   const std::vector<uint32_t>& slots, int64_t* out_ids,
                   float* out_d) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Remove (remove.cc). Its first phase (reads only): for every surviving
  // slot x and level l whose list points at a slot marked in `removed`,
  // computes its new list (survivors, selected as an insert would) and calls
  // on_repair(x, l, list).
  template <typename OnRepair>
  void PlanRepairs(const std::vector<uint8_t>& removed, Scratch& s,
                   OnRepair on_repair) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Reachability (reachability.cc). The reachability tree: every live slot
  // but the entry point has a parent whose level-0 list links to it, and
  // following parents from any live slot ends at the entry point; that
  // chain of links proves the slot reachable on level 0. Kept by every Add
  // (RepairTree, or LinkUnreachable when the tree is not current) and
  // rebuilt by every Remove.
  //
  // A level-0 link from `from` to `y` was dropped: during an Add, records y
  // if the link was y's tree edge. Caller holds the node lock of `from`.
  void DropLink(uint32_t from, uint32_t y) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether z's parents lead to the entry point, without passing through
  // `avoid` or a slot that has no parent, within a bounded number of steps.
  bool Anchored(uint32_t z, uint32_t avoid) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether the level-0 list of `from` links to `to`.
  bool LinksTo(uint32_t from, uint32_t to) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Appends `to` to the level-0 list of `from` if it has room and lacks it.
  bool AppendLink(uint32_t from, uint32_t to) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Links the unreachable node x in from the nearest nodes that `linkable`
  // admits, found as an insert would find them: appended to the first of
  // their lists with room, else to the nearest linkable node with room, else
  // the nearest replaces its last link with x (*dropped is set). Returns the
  // node that now links to x. No insert may be in flight.
  template <typename Linkable>
  uint32_t LinkIn(uint32_t x, const Linkable& linkable, Scratch& s,
                  bool* dropped) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // After an Add's inserts, with a tree that was current before them: gives
  // a parent to every slot among `added` and to every old slot whose tree
  // edge the inserts dropped, linking a slot in (LinkIn) when no anchored
  // node near it links to it. Touches only those slots, their neighbours and
  // their parent chains. Returns false when linking in had to drop another
  // link; the tree may then be broken and the caller runs LinkUnreachable.
  bool RepairTree(const std::vector<uint32_t>& added, Scratch& s)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Walks level 0 from the entry point, rebuilding the tree from the walk,
  // and links every live slot it does not reach from its nearest reached
  // node with room, so that every stored vector is reachable. `reached`
  // holds num_slots_ bytes and `queue` has capacity for num_slots_ slots
  // (nothing here allocates). Runs with no insert in flight; searches may
  // run. Returns whether the tree is complete (false only if linking in kept
  // dropping links).
  bool LinkUnreachable(std::vector<uint8_t>& reached,
                       std::vector<uint32_t>& queue, Scratch& s)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Load's checks of untrusted bytes (io.cc, integrity.cc); they run on an
  // index no other thread can see yet, so they take no lock. File rows are
  // slots 0..n-1. ParseGraph reads the GRPH words: per row its level, then
  // the lists of levels 1..level.
  absl::Status ParseGraph(const std::vector<uint32_t>& graph)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Checks what a search may read from the level-0 blocks of rows [0, n):
  // link counts and targets, finite floats or halves, SQ8 code sums.
  absl::Status CheckLevel0(uint32_t n) const ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Checks that every link on level l >= 1 reaches a node of level >= l.
  absl::Status CheckUpperLevels(uint32_t n) const
      ABSL_NO_THREAD_SAFETY_ANALYSIS;

  HnswOptions options_;
  int dim_;
  int m_;
  int m0_;
  // Set once before the index is shared (LeadingAxesFirst).
  bool leading_axes_first_ = false;
  double level_mult_;
  bool quantized_;        // A compressed copy is walked (kSq8, kSq4 or kFp16).
  int sq_bits_;           // 8 or 4 for scalar-quantized codes, else 0.
  size_t payload_bytes_;  // Vector (floats) or codes (+ code sum) per block.
  size_t block_bytes_;    // payload + count + m0 links, rounded up.
  double brute_force_fraction_ = -1;  // < 0: ScanLimit.

  // Serialises Add, Remove, Train and Save; taken before mu_.
  mutable internal::Mutex mutation_mu_;
  // Exclusive: layout changes; shared: reads, inserts. Writer-preferring so
  // a stream of searches cannot starve Add or Remove. Clang's -Wthread-safety
  // checks the lock annotations in this class; lambdas that run under mu_
  // are marked ABSL_NO_THREAD_SAFETY_ANALYSIS, as the analysis does not carry
  // a caller's locks into a lambda.
  mutable internal::RwMutex mu_;
  // Held by an insert that raises the top level; guards no member (entry_ is
  // atomic), so it stays a plain mutex, locked only on that path.
  std::mutex top_mu_;

  // Per-slot storage; capacity_ slots allocated, [0, num_slots_) ever used.
  // While mapping_ is set, level0_ points into the read-only file mapping:
  // never written or freed (Grow copies it out first). The arrays change
  // shape only under mu_ held exclusively; link words inside them are written
  // under the shared lock and the node's spin lock (see storage.h).
  char* level0_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::shared_ptr<const void> mapping_ ABSL_GUARDED_BY(mu_);
  // Mapped exact vectors, or null for full_.
  const float* full_view_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint32_t capacity_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t num_slots_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<float> full_ ABSL_GUARDED_BY(mu_);   // Quantized: exact vectors.
  std::vector<int64_t> ids_ ABSL_GUARDED_BY(mu_);  // -1 for a free slot.
  std::vector<uint8_t> levels_ ABSL_GUARDED_BY(mu_);
  // Levels 1..L of each slot: (1 + m) words each.
  std::vector<std::unique_ptr<uint32_t[]>> upper_ ABSL_GUARDED_BY(mu_);
  // The Add that made each slot (kFreeEpoch for a free one).
  std::vector<uint32_t> epochs_ ABSL_GUARDED_BY(mu_);
  // Per-slot spin locks; atomic access.
  mutable std::vector<uint8_t> locks_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> free_slots_ ABSL_GUARDED_BY(mu_);
  internal::IdSlotMap row_of_ ABSL_GUARDED_BY(mu_){&ids_};  // Id -> slot.
  uint64_t upper_words_ ABSL_GUARDED_BY(mu_) = 0;     // Upper link words held.
  int64_t live_ ABSL_GUARDED_BY(mu_) = 0;             // Visible vectors.
  uint64_t insert_counter_ ABSL_GUARDED_BY(mu_) = 0;  // Drives level draws.
  internal::ScalarQuantizer sq_ ABSL_GUARDED_BY(mu_){sq_bits_ == 4 ? 4 : 8};
  // The reachability tree (see DropLink): per slot its parent, kNoSlot for
  // the entry point and for a slot waiting for one. Not saved; written only
  // with no insert in flight.
  std::vector<uint32_t> parent_ ABSL_GUARDED_BY(mu_);
  // False when the tree may not hold (a new or loaded index, a copied
  // mapping, a failed link): the next Add rebuilds it with LinkUnreachable.
  bool tree_current_ ABSL_GUARDED_BY(mu_) = false;
  // While collect_cuts_ (set only with no insert in flight), DropLink records
  // here each slot whose tree edge was dropped.
  bool collect_cuts_ ABSL_GUARDED_BY(mu_) = false;
  internal::Mutex cuts_mu_;
  std::vector<uint32_t> cuts_ ABSL_GUARDED_BY(cuts_mu_);
  // Vectors added since the last LinkUnreachable.
  uint64_t added_since_link_check_ ABSL_GUARDED_BY(mutation_mu_) = 0;

  // The packed EntryPoint (see storage.h), or kNoEntry.
  std::atomic<uint64_t> entry_;
  // Searches admit slots whose epoch <= published_epoch_.
  std::atomic<uint32_t> published_epoch_{0};
  // Epoch of the last Add to start (written under the exclusive lock); equal
  // to published_epoch_ when no Add is in flight.
  uint32_t pending_epoch_ ABSL_GUARDED_BY(mu_) = 0;

  mutable internal::ScratchPool<Scratch> scratch_;
};

}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_HNSW_HNSW_INDEX_H_
