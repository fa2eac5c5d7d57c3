#ifndef VINDEX_BENCH_BENCH_COMMON_H_
#define VINDEX_BENCH_BENCH_COMMON_H_

// Shared pieces of ann_bench: the dataset, the parsed index spec, and the
// Contender interface that vindex and each reference library implement, so
// the sweep and the timing code are the same for all of them.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vindex/executor.h"
#include "vindex/index.h"
#include "vindex/options.h"

namespace vindex::bench {

// A dataset in memory: base and query vectors (row-major) and the ids of the
// true nearest neighbours of each query, best first (gt_k per query).
struct Dataset {
  std::string name;
  int dim = 0;
  int64_t n = 0;
  int64_t nq = 0;
  bool inner_product = false;  // "angular" datasets: unit vectors, max IP.
  std::vector<float> base;
  std::vector<float> queries;
  int gt_k = 0;
  std::vector<int32_t> gt;  // nq x gt_k.
};

// Reads DATA_DIR/NAME_{base,query}.fvecs and NAME_groundtruth.ivecs into
// `ds`; a missing file is looked for as FILE.zst and unpacked into
// `cache_dir` (empty: data_cache next to the executable). "angular" in the
// name means inner product. Returns "" or the error.
std::string LoadTexmexDataset(const std::string& data_dir,
                              const std::string& name,
                              const std::string& cache_dir, Dataset* ds);

// Fills `ds` with clustered Gaussian data of shape "N,D,NQ" (sqrt(N) centres,
// points and queries scattered around them) and its exact ground truth.
// Returns "" or the error.
std::string MakeSyntheticDataset(const std::string& shape, Dataset* ds,
                                 Executor* pool);

// A factory string, parsed by vindex::ParseIndexSpec, reduced to what the
// reference libraries and the sweep need; "Rot,<inner>" is described by its
// inner index (the references run that index on the raw vectors).
struct SpecInfo {
  enum class Family { kFlat, kIvfFlat, kIvfPq, kHnsw, kUnknown };
  Family family = Family::kUnknown;  // kUnknown: vindex rejects the string.
  int nlist = 0;
  int pq_m = 0;
  int pq_bits = 8;
  bool rerank = false;  // ",Rerank" / ",RFlat".
  int hnsw_m = 0;
  // "HNSW<M>,SQ8" / "HNSW<M>,FP16": the vectors the graph walk reads.
  HnswOptions::Traversal hnsw_traversal = HnswOptions::Traversal::kFloat;
};
SpecInfo ParseSpec(const std::string& spec, int dim);

// The search knobs of one sweep point; 0 = not used / index default.
struct Knobs {
  int nprobe = 0;
  int ef = 0;
  int rerank = 0;
};
std::string KnobsString(const SpecInfo& spec, const Knobs& knobs);

// One library's index for one spec.
// Thread safety: used by one thread at a time (it may use threads inside).
class Contender {
 public:
  virtual ~Contender() = default;
  // Library label, e.g. "vindex", "faiss-1.7.3 [OPTIMIZE GENERIC]".
  virtual std::string library() const = 0;
  // The library's own name of the method, e.g. "IndexIVFFlat".
  virtual std::string method() const = 0;
  // Trains (when needed) and adds ds.base with ids 0..n-1, using `threads`
  // threads. Returns an empty string on success, else the error.
  virtual std::string Build(const Dataset& ds, int threads) = 0;
  virtual uint64_t memory_bytes() const = 0;
  // Seconds the last Build spent training (the rest of it is adding);
  // negative when the contender does not tell them apart.
  virtual double train_seconds() const { return -1; }
  // Sets the threads the following searches use (1 = the calling thread).
  virtual void UseThreads(int threads) = 0;
  // Searches nq rows of `queries` (ds.dim floats each); writes nq x k ids.
  // Returns an empty string on success.
  virtual std::string Search(const float* queries, int64_t nq, int k,
                             const Knobs& knobs, int64_t* ids) = 0;
};

// vindex's contender: `index` (made from `spec`) run on `threads` threads.
std::unique_ptr<Contender> MakeVindexContender(const std::string& spec,
                                               std::unique_ptr<Index> index,
                                               int threads);

// Reference contenders; null (with `why` set) when the library lacks the
// method or was not built in.
std::unique_ptr<Contender> MakeFaissContender(const std::string& spec, int dim,
                                              bool inner_product,
                                              std::string* why);
std::string FaissLabel();
std::unique_ptr<Contender> MakeHnswlibContender(const std::string& spec,
                                                int dim, bool inner_product,
                                                std::string* why);
std::string HnswlibLabel();

// The instruction set a contender's label says it runs: "avx512", "avx2",
// "avx", "sse", "scalar", "generic" when its options name no SIMD level (a
// build for the baseline ISA), or "unknown" when the label has no options.
// Reads the bracketed part of labels like "vindex [avx512]" or "faiss-1.7.3
// [OPTIMIZE AVX2]".
std::string LabelIsa(const std::string& label);

// Whether ratios against this reference label say nothing about the
// library: a build without AVX2 or AVX-512 kernels (Debian's FAISS is one).
bool IsGenericReference(const std::string& label);

// Sets OpenBLAS's own thread count when OpenBLAS is linked (no-op otherwise).
// vindex runs BLAS on one thread per task; FAISS relies on BLAS threads.
void SetBlasThreads(int threads);

// Monotonic wall clock and process CPU time, in seconds.
double WallSeconds();
double ProcessCpuSeconds();

// Bytes currently allocated through malloc (all arenas, mmapped chunks
// included), or 0 where the C library cannot tell (non-glibc). The growth
// across a contender's build is what its index really holds on the heap,
// counted the same way for every library.
uint64_t HeapBytesInUse();

}  // namespace vindex::bench

#endif  // VINDEX_BENCH_BENCH_COMMON_H_
