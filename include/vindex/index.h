#ifndef VINDEX_INDEX_H_
#define VINDEX_INDEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "vindex/executor.h"
#include "vindex/filter.h"
#include "vindex/io.h"
#include "vindex/matrix_view.h"
#include "vindex/options.h"

namespace vindex {

// What an index is, as reported by Index::info().
struct IndexInfo {
  IndexFamily family = IndexFamily::kFlat;
  Device device = Device::kCpu;  // kCpu or kGpu, never kAuto.
  Metric metric = Metric::kL2;
  int dim = 0;
  int64_t size = 0;            // Vectors currently stored.
  bool trained = false;        // Whether Add may be called.
  uint64_t memory_bytes = 0;   // Bytes held for vectors, codes, ids and graph
                               // (mapped file bytes included).
  bool memory_mapped = false;  // Some sections are served from a file mapping.
  // The factory string that rebuilds it, e.g. "IVF1024,PQ16".
  std::string description;
};

// Which optional operations an index supports.
struct Capabilities {
  bool needs_training = false;  // Train must succeed before Add.
  bool remove = false;          // Remove works.
  bool get_vectors = false;  // GetVectors works (exactly, not decoded codes).
  bool filter = false;       // SearchParams::filter is honoured.
  bool add_during_search = false;  // Add may run while searches run.
};

// Caller-owned output of a search: `ids` and `distances` must both have
// queries.rows rows and at least k columns; row i receives query i's results,
// closest first (ties: smaller id first). Missing results (fewer than k
// candidates) are id -1 and distance +inf (-inf for similarity metrics).
struct SearchOutput {
  MatrixView<int64_t> ids;
  MatrixView<float> distances;
};

// The one interface of every index family on every device.
//
// Shapes: every vector matrix has `dim` columns; `ids` has one entry per row.
// Errors: InvalidArgument for bad input (wrong dim, NaN/Inf, k <= 0, empty or
// mismatched batch, duplicate ids), NotFound for unknown ids in Remove and
// GetVectors, FailedPrecondition for calls out of order (Add before Train),
// Unimplemented for operations capabilities() says are missing. A call that
// fails leaves the index exactly as it was.
// Thread safety: all methods may be called concurrently from several threads;
// mutations (Train, Add, Remove) are serialised against each other, and
// searches see each mutation either entirely or not at all.
class Index {
 public:
  virtual ~Index() = default;

  virtual IndexInfo info() const = 0;
  virtual Capabilities capabilities() const = 0;

  // Learns the index's quantizers from `samples` (dim columns). Families that
  // need no training accept the call and do nothing. Retraining a non-empty
  // index is FailedPrecondition.
  virtual absl::Status Train(MatrixView<const float> samples,
                             Executor* executor = nullptr) = 0;

  // Adds vectors with caller-chosen ids (any int64 except -1). Ids already
  // present, or repeated within the batch, are InvalidArgument.
  virtual absl::Status Add(MatrixView<const float> vectors,
                           absl::Span<const int64_t> ids,
                           Executor* executor = nullptr) = 0;

  // Finds the params.k closest stored vectors to each query row. Queries may
  // run in parallel on `executor`.
  virtual absl::Status Search(MatrixView<const float> queries,
                              const SearchParams& params, SearchOutput out,
                              Executor* executor = nullptr) const = 0;

  // Writes the index in the vindex file format (see LoadIndex).
  virtual absl::Status Save(Writer& writer) const = 0;

  // Removes the vectors with these ids. Unknown or repeated ids fail the
  // whole call (NotFound / InvalidArgument) and remove nothing.
  virtual absl::Status Remove(absl::Span<const int64_t> ids);

  // Copies the stored vectors with these ids into out (ids.size() x dim).
  // For cosine the stored (normalised) vectors are returned.
  virtual absl::Status GetVectors(absl::Span<const int64_t> ids,
                                  MatrixView<float> out) const;
};

// Builds an empty index from options.
absl::StatusOr<std::unique_ptr<Index>> MakeIndex(const IndexSpec& spec);

// Builds an empty index from a factory string and the vector shape, e.g.
// MakeIndex("IVF1024,PQ16x4fs,Rerank", 128, Metric::kL2). Grammar:
//   [Rot,]<family>
//   <family> = Flat | IVF<nlist>,Flat | IVF<nlist>,PQ<m>[x4fs|x8][,Rerank]
//            | HNSW<m>[,SQ8|,SQ4|,FP16]
// (",RFlat" is accepted for ",Rerank"; "x4" for "x4fs"). "Rot," puts a
// learned rotation in front of the index (see MakeRotatedIndex); it appears
// once at most.
// A bad string is InvalidArgument naming the offending token.
absl::StatusOr<std::unique_ptr<Index>> MakeIndex(std::string_view factory,
                                                 int dim,
                                                 Metric metric = Metric::kL2);

// The options a factory string stands for, to adjust before MakeIndex(spec)
// (e.g. a k-means progress callback). Same grammar and errors as MakeIndex,
// except that "Rot,..." has no options struct and is InvalidArgument: parse
// what follows "Rot," and pass the index to MakeRotatedIndex.
absl::StatusOr<IndexSpec> ParseIndexSpec(std::string_view factory, int dim,
                                         Metric metric = Metric::kL2);

// Puts a learned orthogonal rotation in front of `inner` (which must be
// empty; InvalidArgument if it is itself rotated): Train learns the rotation
// from the training vectors (their principal axes, largest variance first)
// and trains `inner` on the rotated vectors; Add and Search rotate vectors
// and queries before `inner` sees them. L2, inner product and cosine are
// unchanged by the rotation, so an exact inner index (Flat, IVF-Flat, HNSW
// walking floats or FP16) answers as on the raw data (distances equal
// within float rounding), while distances that stop early against a bound
// stop sooner. A quantized inner index (PQ codes, SQ8 / SQ4 walks) learns
// its codes on the rotated vectors, whose variance crowds into the leading
// coordinates, and can lose much recall (docs/choosing_an_index.md).
// GetVectors rotates back: the vectors added, within float rounding.
// Capabilities and thread safety are `inner`'s, except that Train is
// required. The rotation runs on the CPU.
absl::StatusOr<std::unique_ptr<Index>> MakeRotatedIndex(
    std::unique_ptr<Index> inner);

// Reads an index written by Index::Save. The bytes are untrusted: anything
// truncated, corrupt or hostile is DataLoss naming what was wrong; a newer
// format version is FailedPrecondition. A load allocates at most 8 bytes per
// byte of input plus 1 MiB (at its peak); if memory runs out all the same,
// the result is ResourceExhausted.
absl::StatusOr<std::unique_ptr<Index>> LoadIndex(Reader& reader);

// Saves to `path` atomically: a temporary file in the same folder is written,
// synced and renamed over `path`, so a crash leaves the old file or the new
// one, never a torn one. A save killed midway leaves its temporary file
// (PATH.tmp.PID.N) behind; nothing ever reads it.
absl::Status SaveIndexToFile(const Index& index, const std::string& path);
struct LoadOptions {
  // Map the file read-only and serve the large sections (Flat vectors, IVF
  // lists, HNSW level-0 blocks and a quantized HNSW's exact vectors) from the
  // mapping without copying: fast start-up, memory shared
  // with the page cache. Checksums are still verified (which reads the file
  // once). Add and Remove on such an index first copy the mapped data into
  // memory (copy-on-write), so they may fail with ResourceExhausted.
  // Replace a mapped file by writing a new one and renaming it over the old
  // (SaveIndexToFile does); what a change in place may do is described at
  // MappedFileReader (vindex/io.h): wrong results, never a crash, except
  // that truncating the file raises SIGBUS.
  bool memory_map = false;
};
absl::StatusOr<std::unique_ptr<Index>> LoadIndexFromFile(
    const std::string& path, const LoadOptions& options = {});

// The SIMD level the CPU kernels run at: "scalar", "avx2" or "avx512" (x86-64
// has SIMD kernels; other processors run the scalar ones). The environment
// variable VINDEX_ISA (scalar|avx2|avx512) caps it; it is read once, on first
// use.
std::string_view ActiveIsaName();

// GPUs usable by this process (0 in a build without CUDA or on a machine
// without a GPU).
int CudaDeviceCount();

}  // namespace vindex

#endif  // VINDEX_INDEX_H_
