#ifndef VINDEX_SRC_INDEX_HNSW_HNSW_INDEX_H_
#define VINDEX_SRC_INDEX_HNSW_HNSW_INDEX_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "core/id_slot_map.h"
#include "core/row_mask.h"
#include "core/rw_mutex.h"
#include "core/scratch_pool.h"
#include "index/scalar_quantizer.h"
#include "io/format.h"
#include "vindex/index.h"

namespace vindex {

// Hierarchical navigable small-world graph (Malkov & Yashunin) over caller
// vectors. Every vector lives in a slot; level 0 of each slot is one
// contiguous block (vector payload, then link count and up to 2M links) so a
// graph step touches one region per neighbour; upper-level links live in a
// small per-slot array. With Traversal::kSq8 (kFp16) the block holds 8-bit
// codes (half floats) that are walked instead of the floats, full vectors are
// kept apart, and the ef final candidates are re-ranked exactly. Remove repairs
// the removed nodes' neighbours at once and puts their slots on a free list for
// later adds. Pruning can leave a node or a group with no link into it, so
// each Remove, and each Add that brings the vectors added since the last
// check to 1/16 of the index, ends by linking in every live node a level-0
// walk from the entry point does not reach.
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
class HnswIndex final : public Index {
 public:
  static absl::StatusOr<std::unique_ptr<HnswIndex>> Create(
      const HnswOptions& options);
  // Reads the sections after the header (see io/format.h).
  static absl::StatusOr<std::unique_ptr<Index>> Load(
      const io::FileHeader& header, io::ContainerReader& reader);
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
  // per allowed row; equal cost was measured (sift-wallpapers 128-d, 50k
  // vectors, M=32, one thread, a local timing harness) at 10-12% allowed
  // for ef=32, which gives limit = 168 * n^(1/3) * sqrt(ef / 32).
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
  // Test hook: sets the count of published Adds (the insert epoch), e.g. near
  // its end to exercise the wrap. Not for concurrent use.
  void set_epoch_for_testing(uint32_t epoch);
  // Slots allocated (live + free); stays bounded under remove/re-add churn.
  int64_t slot_capacity_for_testing() const;

 private:
  // The bodies of the public calls, which run them inside GuardedCall.
  absl::Status TrainUnguarded(MatrixView<const float> samples,
                              Executor* executor);
  absl::Status AddUnguarded(MatrixView<const float> vectors,
                            absl::Span<const int64_t> ids, Executor* executor);
  absl::Status SearchUnguarded(MatrixView<const float> queries,
                               const SearchParams& params, SearchOutput out,
                               Executor* executor) const;
  absl::Status SaveUnguarded(Writer& writer) const;
  absl::Status RemoveUnguarded(absl::Span<const int64_t> ids);
  absl::Status GetVectorsUnguarded(absl::Span<const int64_t> ids,
                                   MatrixView<float> out) const;

  struct Scratch;
  struct Candidate {
    float d;
    uint32_t slot;
  };
  class FloatSpace;
  class Sq8L2Space;
  class Sq8IpSpace;
  class Fp16Space;
  struct AdmitAll;
  struct AdmitVisible;
  struct FilterPlan;

  explicit HnswIndex(const HnswOptions& options);

  // Layout helpers.
  char* Block(uint32_t slot) const {
    return level0_ + size_t{slot} * block_bytes_;
  }
  uint32_t* Links(uint32_t slot, int level) const;
  const float* FullVector(uint32_t slot) const;
  int Capacity(int level) const { return level == 0 ? m0_ : m_; }
  float Distance(const float* a, const float* b) const;

  void LockNode(uint32_t slot) const;
  void UnlockNode(uint32_t slot) const;

  // Grows every per-slot array to hold `slots` slots (exclusive lock held).
  // A mapped index is copied into owned memory even if it has room.
  void Grow(uint32_t slots);
  // Sizes the per-slot arrays other than the level-0 blocks and full_.
  void ResizeSlotArrays(uint64_t cap);
  // Copies mapped data into owned memory; no-op when nothing is mapped.
  absl::Status UnmapLocked();
  // Called by Grow on data just copied from a mapping, which may have changed
  // since Load checked it: drops links out of range, zeroes non-finite values.
  void RepairCopiedMapping();
  // Load helpers (file rows are slots 0..n-1). ParseGraph reads the GRPH
  // words: per row its level, then the lists of levels 1..level.
  absl::Status ParseGraph(const std::vector<uint32_t>& graph);
  // Checks what a search may read from the level-0 blocks of rows [0, n):
  // link counts and targets, finite floats or halves, SQ8 code sums.
  absl::Status CheckLevel0(uint32_t n) const;
  // Checks that every link on level l >= 1 reaches a node of level >= l.
  absl::Status CheckUpperLevels(uint32_t n) const;
  int DrawLevel(uint64_t counter) const;
  void WritePayload(uint32_t slot, const float* v);

  // Graph walk on one level from `ep`; leaves the ef best admitted nodes in
  // scratch.results (a max-heap).
  template <typename Space, typename Admit>
  void SearchLayer(const Space& space, uint32_t ep, float d_ep, int level,
                   int ef, const Admit& admit, Scratch& s) const;
  template <typename Space>
  uint32_t GreedyDescend(const Space& space, uint32_t ep, float* d_ep,
                         int from_level, int to_level) const;
  // Keeps at most `max` of `cands` (sorted ascending by distance to the base)
  // with the diversity heuristic, in place. With `fill`, the places left are
  // filled with the closest pruned candidates (fill is scratch).
  void SelectNeighbors(std::vector<Candidate>& cands, int max,
                       std::vector<Candidate>* fill = nullptr) const;
  void Insert(uint32_t slot, Scratch& s);
  void Connect(uint32_t from, uint32_t to, float d, int level, Scratch& s);
  // Walks level 0 from the entry point and links every live slot it does
  // not reach from its nearest reached node with room, so that every stored
  // vector is reachable. `reached` holds num_slots_ bytes and `queue` has
  // capacity for num_slots_ slots (nothing here allocates). Runs with no
  // insert in flight; searches may run.
  void LinkUnreachable(std::vector<uint8_t>& reached,
                       std::vector<uint32_t>& queue, Scratch& s);
  // Remove's first phase (reads only): for every surviving slot x and level
  // l whose list points at a slot marked in `removed`, computes its new list
  // (survivors, selected as an insert would) and calls on_repair(x, l,
  // list).
  template <typename OnRepair>
  void PlanRepairs(const std::vector<uint8_t>& removed, Scratch& s,
                   OnRepair on_repair) const;

  template <typename Space>
  void SearchOne(const Space& space, const float* query, int k, int ef,
                 const IdFilter* filter, uint32_t snapshot, Scratch& s,
                 int64_t* out_ids, float* out_d) const;
  // Chooses between the filtered graph walk and the exhaustive scan.
  FilterPlan PlanFilter(const IdFilter& filter, uint32_t snapshot,
                        int ef) const;
  void ScanAllowed(const float* query, int k,
                   const std::vector<uint32_t>& slots, int64_t* out_ids,
                   float* out_d) const;

  HnswOptions options_;
  int dim_;
  int m_;
  int m0_;
  double level_mult_;
  bool quantized_;  // A compressed copy is walked (kSq8 or kFp16).
  bool sq8_;
  size_t payload_bytes_;  // Vector (floats) or codes (+ code sum) per block.
  size_t block_bytes_;    // payload + count + m0 links, rounded up.
  double brute_force_fraction_ = -1;  // < 0: ScanLimit.

  mutable std::mutex mutation_mu_;  // Serialises Add, Remove, Train and Save.
  // Exclusive: layout changes; shared: reads, inserts. Writer-preferring so
  // a stream of searches cannot starve Add or Remove.
  mutable internal::RwMutex mu_;
  std::mutex top_mu_;  // Held by an insert that raises the top level.

  // Per-slot storage; capacity_ slots allocated, [0, num_slots_) ever used.
  // While mapping_ is set, level0_ points into the read-only file mapping:
  // never written or freed (Grow copies it out first).
  char* level0_ = nullptr;
  std::shared_ptr<const void> mapping_;
  const float* full_view_ = nullptr;  // Mapped exact vectors, or full_.
  uint32_t capacity_ = 0;
  uint32_t num_slots_ = 0;
  std::vector<float> full_;   // Quantized only: exact vectors.
  std::vector<int64_t> ids_;  // -1 for a free slot.
  std::vector<uint8_t> levels_;
  std::vector<std::unique_ptr<uint32_t[]>>
      upper_;                     // Levels 1..L: (1 + m) each.
  std::vector<uint32_t> epochs_;  // Add that made the slot; atomic access.
  mutable std::vector<uint8_t> locks_;  // Per-slot spin locks; atomic access.
  std::vector<uint32_t> free_slots_;
  internal::IdSlotMap row_of_{&ids_};  // Caller id -> slot.
  uint64_t upper_words_ = 0;           // Allocated upper-level link words.
  int64_t live_ = 0;                   // Visible vectors.
  uint64_t insert_counter_ = 0;        // Drives level draws.
  internal::ScalarQuantizer8 sq_;
  // Vectors added since the last LinkUnreachable.
  uint64_t added_since_link_check_ = 0;

  // (level << 32 | slot) of the entry point, or kNoEntry.
  std::atomic<uint64_t> entry_;
  // Searches admit slots whose epoch <= published_epoch_.
  std::atomic<uint32_t> published_epoch_{0};
  // Epoch of the last Add to start (written under the exclusive lock); equal
  // to published_epoch_ when no Add is in flight.
  uint32_t pending_epoch_ = 0;

  mutable internal::ScratchPool<Scratch> scratch_;
};

}  // namespace vindex

#endif  // VINDEX_SRC_INDEX_HNSW_HNSW_INDEX_H_
