#ifndef VINDEX_SRC_INDEX_IVF_IVF_BASE_H_
#define VINDEX_SRC_INDEX_IVF_IVF_BASE_H_

// The parts IVF-Flat and IVF-PQ share: the coarse quantizer (k-means
// centroids), the inverted lists, the id -> ListLocation map, parallel add
// (assign, encode, then append), Remove, filters, the per-query probe of the
// nprobe closest lists, and the container sections every IVF file has. A
// family supplies what goes into a list and how a list is scanned.
// The class is defined across files, one per job: ivf_base.cc (the public
// calls), train.cc, add_remove.cc, search.cc and save_load.cc (with
// list_io.h for the lists section).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/id_map.h"
#include "core/mutex.h"
#include "core/row_mask.h"
#include "core/rw_mutex.h"
#include "index/head_codec.h"
#include "index/ivf/inverted_lists.h"
#include "index/leading_axes.h"
#include "io/format.h"
#include "train/kmeans.h"
#include "vindex/index.h"

namespace vindex::internal {

// The largest params section an IVF family writes, with room to spare (a
// bound on what a hostile file can make the loader allocate).
inline constexpr uint64_t kMaxIvfParamsBytes = 4096;
// Bounds on the values that only steer work, checked by MakeIndex and on
// load alike (searches probe at most nlist lists whatever nprobe says).
inline constexpr int kMaxIvfNprobe = 1 << 20;
inline constexpr int kMaxKMeansIterations = 1000;
inline constexpr int kMaxPointsPerCentroid = 1 << 20;

// Checks the options every IVF family shares (InvalidArgument naming the
// bad field). The CPU index rejects Device::kGpu; MakeIndex routes it.
absl::Status CheckIvfOptions(const IvfCommonOptions& options);

// The k-means options an IVF index trains its coarse quantizer with.
train::KMeansOptions CoarseKMeansOptions(const IvfCommonOptions& ivf);

// What a list scan needs to know about one query (internal scores: smaller
// is closer).
struct ProbeContext {
  const float* query = nullptr;  // dim floats (normalised for cosine).
  const int64_t* lists =
      nullptr;  // nprobe list numbers, closest first (-1: none).
  const float* coarse = nullptr;  // Their coarse scores.
  int nprobe = 0;
  int k = 0;
  int rerank_factor = 0;          // Already resolved (0: no re-rank).
  const RowMask* mask = nullptr;  // Over global positions; null = all allowed.
  const std::vector<int64_t>* offsets =
      nullptr;                  // List l's first global position.
  int64_t* out_ids = nullptr;   // k entries.
  float* out_scores = nullptr;  // k internal scores.
};

// A whole batch's probes, for a family that scans list by list (ScanQueries):
// query i's nprobe lists and coarse scores at probe / coarse + i * nprobe,
// the other fields as in ProbeContext; results go to out's row i.
struct BatchProbeContext {
  MatrixView<const float> queries;  // Normalised for cosine.
  const int64_t* probe = nullptr;
  const float* coarse = nullptr;
  int nprobe = 0;
  int k = 0;
  int rerank_factor = 0;
  const RowMask* mask = nullptr;
  const std::vector<int64_t>* offsets = nullptr;
  SearchOutput out;  // Internal scores.
  Executor* executor = nullptr;
};

// Thread safety: all methods may be called concurrently. Train, Add and
// Remove are serialised by a mutation mutex and publish their result under
// an exclusive lock taken only for the final, non-allocating step; searches
// hold a shared lock, so they see each mutation entirely or not at all.
class IvfIndexBase : public Index, public LeadingAxesFirst {
 public:
  IndexInfo info() const override;
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

  // Trains with these coarse centroids (nlist x dim, already normalised for
  // cosine) instead of k-means; the family's own quantizer (PQ) learns from
  // `samples` as Train would. Same errors and atomicity as Train.
  absl::Status TrainWithCentroids(MatrixView<const float> centroids,
                                  MatrixView<const float> samples,
                                  Executor* executor);
  // The list each row would be added to (FailedPrecondition if untrained).
  absl::Status AssignToLists(MatrixView<const float> vectors,
                             absl::Span<int32_t> lists,
                             Executor* executor) const;
  // A copy of the coarse centroids (nlist x dim).
  absl::StatusOr<std::vector<float>> CoarseCentroids() const;
  // Add with each row's list given (lists[i] in [0, nlist)): Add's result
  // when the lists are the ones AssignToLists gives. Same errors and
  // atomicity as Add.
  absl::Status AddToLists(MatrixView<const float> vectors,
                          absl::Span<const int64_t> ids,
                          absl::Span<const int32_t> lists, Executor* executor);
  // Search's coarse step: the nprobe lists each query would scan (probe,
  // nq x nprobe, closest first, -1 for none) and their internal coarse
  // scores. nprobe as SearchParams::nprobe (0: the default), capped at
  // nlist; *resolved receives the value used.
  absl::Status Probe(MatrixView<const float> queries, int nprobe,
                     std::vector<int64_t>* probe, std::vector<float>* coarse,
                     int* resolved, Executor* executor) const;
  // Search after the coarse step, scanning the given probes (as Probe gives
  // them; -1 entries are skipped). Picks the scan Search would pick for a
  // batch of this size, so with Probe's output it returns Search's answers.
  absl::Status SearchProbes(MatrixView<const float> queries,
                            absl::Span<const int64_t> probe,
                            absl::Span<const float> coarse, int nprobe,
                            const SearchParams& params, SearchOutput out,
                            Executor* executor) const;

  // The shared options (device is always kCpu here).
  const IvfCommonOptions& ivf_options() const { return ivf_; }

  // Inner-product and cosine one-query scans then screen long rows (the
  // coarse step; IVF-Flat's lists for cosine), the centroids keep coded
  // heads for the one-query coarse step (from kernels::kBoundedMinDim
  // dimensions), and the lists keep heads if the family asks for them
  // (KeepsListHeads).
  void SetLeadingAxesFirst() override;
  bool leading_axes_first() const { return leading_axes_first_; }

 protected:
  // entry_terms: the lists keep one float per entry (EntryTerms).
  IvfIndexBase(IndexFamily family, const IvfCommonOptions& options,
               CodeLayout layout, int code_m, int vec_dim,
               bool entry_terms = false);

  // --- Hooks for the family. ---
  // The factory string that rebuilds the index.
  virtual std::string Description() const = 0;
  // Family fields appended to the params section.
  virtual void AppendParams(io::ByteBuilder& b) const = 0;
  // Learns the family's own quantizer from the (normalised) training rows
  // and the new centroids (nlist x dim, with squared norms) into staged
  // state that CommitTraining publishes. Must not touch published state.
  virtual absl::Status StageTraining(MatrixView<const float> /*x*/,
                                     const float* /*centroids*/,
                                     const float* /*centroid_norms*/,
                                     Executor* /*executor*/) {
    return absl::OkStatus();
  }
  // Publishes the staged state (called under the exclusive lock; no failure).
  virtual void CommitTraining() {}
  // Codes rows x (assigned to lists[i]) into codes (rows * code_m bytes)
  // and, with entry terms, each row's term into terms[i] (else terms is
  // null).
  virtual void Encode(MatrixView<const float> /*x*/, const int32_t* /*lists*/,
                      uint8_t* /*codes*/, float* /*terms*/,
                      Executor* /*executor*/) const {}
  // With entry terms: computes every loaded entry's term from its code into
  // `lists` (just loaded, before CommitTraining publishes the staged state;
  // `centroids` are the loaded centroids). Must give the bits Encode gives.
  virtual void FillEntryTerms(const float* /*centroids*/,
                              InvertedLists* /*lists*/) const {}
  // The lists a call probes: `requested` (0: the default), at most nlist;
  // InvalidArgument if negative.
  absl::StatusOr<int> ResolveNprobe(int requested) const;
  // Whether the lists keep coded heads (InvertedLists::EnableHeads) once
  // the leading axes come first.
  virtual bool KeepsListHeads() const { return false; }
  // The codec of the lists' heads for these centroids: with 4-bit tails
  // from kernels::kBoundedMinDim dimensions, where rows are long enough
  // that reading a tail instead of floats pays.
  HeadCodec ListHeadCodec(const float* centroids, int64_t nlist) const;
  // Per-call checks of family knobs (e.g. rerank_factor) and their default.
  virtual absl::StatusOr<int> ResolveRerank(
      const SearchParams& /*params*/) const {
    return 0;
  }
  // Scans the probed lists for one query and writes its k results.
  virtual void ScanLists(const ProbeContext& ctx) const = 0;
  // Optionally scans the probed lists of a whole unfiltered batch at once
  // (probe and coarse: nq x nprobe, as ProbeContext), writing each query's k
  // results in internal scores to out. Returns false, having written
  // nothing, to have ScanLists called per query instead.
  virtual bool ScanBatch(MatrixView<const float> /*queries*/,
                         const int64_t* /*probe*/, const float* /*coarse*/,
                         int /*nprobe*/, int /*k*/, SearchOutput /*out*/,
                         Executor* /*executor*/) const {
    return false;
  }
  // Optionally scans a whole batch, filtered or not, writing each query's k
  // results in internal scores. Returns false, having written nothing, to
  // leave the batch to ScanBatch or ScanLists.
  virtual bool ScanQueries(const BatchProbeContext& /*batch*/) const {
    return false;
  }
  // Extra sections between the centroids and the lists (e.g. codebooks).
  virtual absl::Status SaveExtra(io::ContainerWriter& /*w*/) const {
    return absl::OkStatus();
  }
  // Reads them back into staged state (published by CommitTraining);
  // `centroids` are the loaded centroids.
  virtual absl::Status LoadExtra(io::ContainerReader& /*r*/,
                                 const float* /*centroids*/) {
    return absl::OkStatus();
  }
  virtual uint64_t ExtraMemory() const { return 0; }
  // Whether GetVectors can return exact vectors.
  bool keeps_vectors() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return lists_.vec_dim() > 0;
  }

  // Reads CENT, the family's extra sections, LSTA and the end marker after
  // the params section. `count` is the header's vector count. With a reader
  // that lends memory (a mapping), the lists are views into it; Add and
  // Remove then copy them first.
  absl::Status LoadBody(io::ContainerReader& r, uint64_t count, bool trained);

  // The list of each row of x under `centroids` (nearest for L2, largest
  // inner product otherwise).
  void AssignLists(const float* centroids, const float* centroid_norms,
                   MatrixView<const float> x, int32_t* out,
                   Executor* executor) const;

  // Reads the fields the base writes at the start of the params section
  // into *options (nlist, default_nprobe, kmeans_iterations,
  // max_points_per_centroid, seed).
  static absl::Status ParseBaseParams(io::ByteCursor& c,
                                      IvfCommonOptions* options, bool* trained);

  // For the family hooks, which are called with mu_ held or from a mutation
  // (holding write_mu_); not annotated, as the families cannot name mu_.
  const InvertedLists& lists() const { return lists_; }
  const std::vector<float>& centroids() const { return centroids_; }
  int code_m() const { return code_m_; }

 private:
  // The bodies of the public calls: each public method runs its Impl inside
  // internal::GuardedCall.
  absl::Status TrainImpl(MatrixView<const float> samples, Executor* executor);
  absl::Status TrainWithCentroidsImpl(MatrixView<const float> centroids,
                                      MatrixView<const float> samples,
                                      Executor* executor);
  absl::Status AssignToListsImpl(MatrixView<const float> vectors,
                                 absl::Span<int32_t> lists,
                                 Executor* executor) const;
  // What fresh lists of this index look like (kept across a retrain).
  struct ListsShape {
    CodeLayout layout = CodeLayout::kNone;
    int vec_dim = 0;
    bool with_terms = false;
  };
  // The lists' shape, or FailedPrecondition when the index holds vectors
  // (an index is trained once, before its first Add).
  absl::StatusOr<ListsShape> ShapeForRetrain() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Trains the family's quantizer on x, then publishes it with `centroids`
  // and fresh empty lists of `shape`.
  absl::Status StageAndPublish(MatrixView<const float> x,
                               std::vector<float> centroids, ListsShape shape,
                               Executor* executor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // `given_lists`: each row's list, or null to assign them here.
  absl::Status AddImpl(MatrixView<const float> vectors,
                       absl::Span<const int64_t> ids,
                       const absl::Span<const int32_t>* given_lists,
                       Executor* executor);
  absl::Status ProbeImpl(MatrixView<const float> queries, int nprobe,
                         std::vector<int64_t>* probe,
                         std::vector<float>* coarse, int* resolved,
                         Executor* executor) const;
  absl::Status SearchProbesImpl(MatrixView<const float> queries,
                                absl::Span<const int64_t> probe,
                                absl::Span<const float> coarse, int nprobe,
                                const SearchParams& params, SearchOutput out,
                                Executor* executor) const;
  // Search's two halves, shared with Probe / SearchProbes. CoarseProbe
  // writes each query's nprobe closest lists and their coarse scores;
  // ScanProbes scans them (-1 entries skipped) under params' filter and k,
  // writing natural scores. Queries come normalised for cosine.
  void CoarseProbe(MatrixView<const float> queries, int nprobe, int64_t* probe,
                   float* coarse, Executor* executor) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status ScanProbes(MatrixView<const float> queries, const int64_t* probe,
                          const float* coarse, int nprobe, int rerank,
                          const SearchParams& params, SearchOutput out,
                          Executor* executor) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status SearchImpl(MatrixView<const float> queries,
                          const SearchParams& params, SearchOutput out,
                          Executor* executor) const;
  absl::Status SaveImpl(Writer& writer) const;
  absl::Status RemoveImpl(absl::Span<const int64_t> ids);
  // Codes the centroids' heads when the coarse step keeps them (behind a
  // rotation, from kernels::kBoundedMinDim dimensions); clears them
  // otherwise, or when memory runs out (they only speed the scan up).
  void CodeCentroidHeads() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status GetVectorsImpl(absl::Span<const int64_t> ids,
                              MatrixView<float> out) const;

  // When the lists are served from a mapping, sets *owned to an owned copy
  // (copy-on-write before a mutation; ResourceExhausted if memory runs
  // out).
  absl::Status CopyMappedLists(std::optional<InvertedLists>* owned) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const IndexFamily family_;
  IvfCommonOptions ivf_;
  int code_m_ = 0;

  // Serialises Train, Add, Remove and Load; taken before mu_.
  Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Readers vs the publishing step; writer-preferring so a stream of
  // searches cannot starve a mutation. The members below change only with
  // write_mu_ and mu_ both held (mu_ exclusively), so a mutation, which holds
  // write_mu_, reads them under a ReaderLock that never waits: every writer
  // of mu_ holds write_mu_ first.
  mutable RwMutex mu_;
  bool trained_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<float> centroids_ ABSL_GUARDED_BY(mu_);  // nlist x dim.
  std::vector<float> centroid_norms_ ABSL_GUARDED_BY(mu_);
  // The centroids' coded heads (CodeCentroidHeads): a codec fitted to them,
  // nlist x kCodedHeadDim codes and nlist slacks; empty when not kept.
  std::optional<HeadCodec> centroid_codec_ ABSL_GUARDED_BY(mu_);
  std::vector<uint8_t> centroid_head_codes_ ABSL_GUARDED_BY(mu_);
  std::vector<float> centroid_head_slack_ ABSL_GUARDED_BY(mu_);
  // Set once before the index is shared (LeadingAxesFirst).
  bool leading_axes_first_ = false;
  InvertedLists lists_ ABSL_GUARDED_BY(mu_);
  IdMap<uint64_t> where_ ABSL_GUARDED_BY(mu_);  // id -> ListLocation, packed.
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_INDEX_IVF_IVF_BASE_H_
