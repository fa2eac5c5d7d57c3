// Loading is bounded by the file: crafted files with valid checksums, per
// family, are loaded under a replacement of operator new that counts the
// bytes live at the peak (and can fail a chosen allocation). Every load
// allocates at most io::kLoadAllocationFactor bytes per byte of the file plus
// io::kLoadAllocationSlack, values that only steer work are range-checked,
// and a failed allocation is ResourceExhausted, never an exception. The same
// hook fails the allocations of an Add, a Remove or a Train (in turn on one
// thread, a spread of them on a pool): a call that refuses leaves its index
// as it was.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "io/format.h"
#include "test_util.h"
#include "vindex/executor.h"
#include "vindex/index.h"
#include "vindex/io.h"

namespace {

// The counting allocator. Each block carries a header with its size and the
// measurement it belongs to, so blocks from before a measurement that are
// freed during it (or the reverse) do not skew it.
struct AllocState {
  std::atomic<bool> active{false};
  std::atomic<uint64_t> generation{0};
  std::atomic<int64_t> live{0};
  std::atomic<int64_t> peak{0};
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> fail_at{-1};  // Counted call that fails; -1: none.
};
AllocState g_alloc;

struct BlockHeader {
  size_t size;
  uint64_t generation;  // 0: not counted.
};
constexpr size_t kHeaderBytes = 64;  // Keeps user blocks 64-byte aligned.

void* Allocate(size_t size, std::align_val_t align, bool nothrow) {
  uint64_t generation = 0;
  if (g_alloc.active.load(std::memory_order_relaxed)) {
    generation = g_alloc.generation.load(std::memory_order_relaxed);
    if (g_alloc.calls.fetch_add(1) == g_alloc.fail_at.load()) {
      if (nothrow) return nullptr;
      throw std::bad_alloc();
    }
  }
  if (static_cast<size_t>(align) > kHeaderBytes) std::abort();
  const size_t total = (size + kHeaderBytes + 63) / 64 * 64;
  void* raw = std::aligned_alloc(64, total);
  if (raw == nullptr) {
    if (nothrow) return nullptr;
    throw std::bad_alloc();
  }
  const BlockHeader h{size, generation};
  std::memcpy(raw, &h, sizeof(h));
  if (generation != 0) {
    const int64_t now = g_alloc.live.fetch_add(static_cast<int64_t>(size)) +
                        static_cast<int64_t>(size);
    int64_t peak = g_alloc.peak.load();
    while (now > peak && !g_alloc.peak.compare_exchange_weak(peak, now)) {
    }
  }
  return static_cast<char*>(raw) + kHeaderBytes;
}

void Release(void* p) {
  if (p == nullptr) return;
  char* raw = static_cast<char*>(p) - kHeaderBytes;
  BlockHeader h;
  std::memcpy(&h, raw, sizeof(h));
  if (h.generation != 0 && h.generation == g_alloc.generation.load()) {
    g_alloc.live.fetch_sub(static_cast<int64_t>(h.size));
  }
  std::free(raw);
}

constexpr std::align_val_t kDefaultAlign{__STDCPP_DEFAULT_NEW_ALIGNMENT__};

}  // namespace

void* operator new(size_t n) { return Allocate(n, kDefaultAlign, false); }
void* operator new[](size_t n) { return Allocate(n, kDefaultAlign, false); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n, kDefaultAlign, true);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n, kDefaultAlign, true);
}
void* operator new(size_t n, std::align_val_t a) {
  return Allocate(n, a, false);
}
void* operator new[](size_t n, std::align_val_t a) {
  return Allocate(n, a, false);
}
void* operator new(size_t n, std::align_val_t a,
                   const std::nothrow_t&) noexcept {
  return Allocate(n, a, true);
}
void* operator new[](size_t n, std::align_val_t a,
                     const std::nothrow_t&) noexcept {
  return Allocate(n, a, true);
}
void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, size_t) noexcept { Release(p); }
void operator delete[](void* p, size_t) noexcept { Release(p); }
void operator delete(void* p, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Release(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  Release(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete(void* p, std::align_val_t,
                     const std::nothrow_t&) noexcept {
  Release(p);
}
void operator delete[](void* p, std::align_val_t,
                       const std::nothrow_t&) noexcept {
  Release(p);
}

namespace vindex {
namespace {

using testing::SequentialIds;

// Counts what is allocated from construction to destruction; with
// fail_at >= 0 the fail_at-th counted allocation fails.
class AllocationScope {
 public:
  explicit AllocationScope(int64_t fail_at = -1) {
    g_alloc.generation.fetch_add(1);
    g_alloc.live = 0;
    g_alloc.peak = 0;
    g_alloc.calls = 0;
    g_alloc.fail_at = fail_at;
    g_alloc.active = true;
  }
  ~AllocationScope() {
    g_alloc.active = false;
    g_alloc.fail_at = -1;
  }
  int64_t peak() const { return g_alloc.peak.load(); }
  int64_t calls() const { return g_alloc.calls.load(); }
};

struct LoadOutcome {
  absl::StatusCode code;
  std::string message;
  int64_t peak = 0;   // Bytes live at the peak of the load.
  int64_t calls = 0;  // Allocations it made.
};

// Loads `bytes` from memory (every array copied) under an AllocationScope;
// the index is destroyed outside it.
LoadOutcome LoadCounted(const std::string& bytes, int64_t fail_at = -1) {
  MemoryReader reader(bytes);
  absl::StatusOr<std::unique_ptr<Index>> loaded;
  LoadOutcome out;
  {
    AllocationScope scope(fail_at);
    loaded = LoadIndex(reader);
    out.peak = scope.peak();
    out.calls = scope.calls();
  }
  out.code = loaded.status().code();
  out.message = std::string(loaded.status().message());
  return out;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// As LoadCounted, through a file mapping.
LoadOutcome LoadMappedCounted(const std::string& bytes, int64_t fail_at = -1) {
  // One file per process: ctest runs this binary's tests in parallel.
  const std::string path = ::testing::TempDir() + "/load_bounds_" +
                           std::to_string(getpid()) + ".vindex";
  WriteFile(path, bytes);
  absl::StatusOr<std::unique_ptr<Index>> loaded;
  LoadOutcome out;
  {
    AllocationScope scope(fail_at);
    loaded = LoadIndexFromFile(path, LoadOptions{.memory_map = true});
    out.peak = scope.peak();
    out.calls = scope.calls();
  }
  out.code = loaded.status().code();
  out.message = std::string(loaded.status().message());
  return out;
}

int64_t Bound(const std::string& bytes) {
  return static_cast<int64_t>(io::kLoadAllocationFactor * bytes.size() +
                              io::kLoadAllocationSlack);
}

std::string Raw(const void* p, size_t n) {
  return std::string(static_cast<const char*>(p), n);
}

// --- Crafted files (valid checksums, written through ContainerWriter). ---

// HNSW, float traversal, m = 256, dim 1: `n` nodes, each on level `level`
// with no links anywhere.
std::string TallHnswFile(uint32_t n, uint32_t level) {
  std::string bytes;
  StringWriter sink(&bytes);
  io::ContainerWriter w(sink);
  io::FileHeader h;
  h.family = IndexFamily::kHnsw;
  h.dim = 1;
  h.count = n;
  EXPECT_TRUE(w.WriteHeader(h).ok());
  io::ByteBuilder p;
  p.U32(256);  // m
  p.U32(16);   // ef_construction
  p.U32(16);   // default_ef
  p.U64(1);    // seed
  p.U32(0);    // traversal: float
  p.U64(n);    // insert counter
  p.I64(0);    // entry row
  p.U32(0);    // no quantizer
  p.U32(1);    // layout: level-0 blocks
  EXPECT_TRUE(w.WriteSection(io::kTagParams, p.bytes()).ok());
  const std::vector<int64_t> ids = SequentialIds(n);
  EXPECT_TRUE(w.WriteSection(io::kTagIds, Raw(ids.data(), n * 8)).ok());
  const size_t block = 4 + 4 * (1 + 2 * 256);  // vector, count, links
  EXPECT_TRUE(
      w.WriteSection(io::kTagLevel0, std::string(n * block, '\0')).ok());
  std::vector<uint32_t> graph;
  for (uint32_t r = 0; r < n; ++r) {
    graph.push_back(level);
    for (uint32_t l = 1; l <= level; ++l) graph.push_back(0);
  }
  EXPECT_TRUE(
      w.WriteSection(io::kTagGraph, Raw(graph.data(), graph.size() * 4)).ok());
  EXPECT_TRUE(w.Finish().ok());
  return bytes;
}

// HNSW, float traversal, m = 2: one node of dimension `dim` (a valid file).
std::string WideHnswFile(uint32_t dim) {
  std::string bytes;
  StringWriter sink(&bytes);
  io::ContainerWriter w(sink);
  io::FileHeader h;
  h.family = IndexFamily::kHnsw;
  h.dim = dim;
  h.count = 1;
  EXPECT_TRUE(w.WriteHeader(h).ok());
  io::ByteBuilder p;
  p.U32(2);
  p.U32(16);
  p.U32(16);
  p.U64(1);
  p.U32(0);
  p.U64(1);
  p.I64(0);
  p.U32(0);
  p.U32(1);
  EXPECT_TRUE(w.WriteSection(io::kTagParams, p.bytes()).ok());
  const int64_t id = 7;
  EXPECT_TRUE(w.WriteSection(io::kTagIds, Raw(&id, 8)).ok());
  const size_t block = size_t{4} * dim + 4 * (1 + 4);
  EXPECT_TRUE(w.WriteSection(io::kTagLevel0, std::string(block, '\0')).ok());
  const uint32_t level = 0;
  EXPECT_TRUE(w.WriteSection(io::kTagGraph, Raw(&level, 4)).ok());
  EXPECT_TRUE(w.Finish().ok());
  return bytes;
}

// Flat, dim 1: n rows (ids 0..n-1, all zero).
std::string FlatFile(uint32_t n) {
  std::string bytes;
  StringWriter sink(&bytes);
  io::ContainerWriter w(sink);
  io::FileHeader h;
  h.family = IndexFamily::kFlat;
  h.dim = 1;
  h.count = n;
  EXPECT_TRUE(w.WriteHeader(h).ok());
  const std::vector<int64_t> ids = SequentialIds(n);
  EXPECT_TRUE(w.WriteSection(io::kTagIds, Raw(ids.data(), n * 8)).ok());
  EXPECT_TRUE(w.WriteSection(io::kTagVectors, std::string(n * 4, '\0')).ok());
  EXPECT_TRUE(w.Finish().ok());
  return bytes;
}

// A trained IVF file of dim 1 with `nlist` empty lists (IVF-PQ: one 8-bit
// sub-quantizer).
std::string EmptyListsIvfFile(IndexFamily family, uint32_t nlist) {
  std::string bytes;
  StringWriter sink(&bytes);
  io::ContainerWriter w(sink);
  io::FileHeader h;
  h.family = family;
  h.dim = 1;
  h.count = 0;
  EXPECT_TRUE(w.WriteHeader(h).ok());
  io::ByteBuilder p;
  p.U32(nlist);
  p.U32(1);    // default_nprobe
  p.U32(10);   // kmeans_iterations
  p.U32(256);  // max_points_per_centroid
  p.U64(1);    // seed
  p.U32(1);    // trained
  if (family == IndexFamily::kIvfPq) {
    p.U32(1);     // pq_m
    p.U32(8);     // pq_bits
    p.U32(0);     // keep_raw_vectors
    p.U32(0);     // default_rerank_factor
    p.U32(1000);  // pq_training_points
  }
  EXPECT_TRUE(w.WriteSection(io::kTagParams, p.bytes()).ok());
  std::vector<float> centroids(nlist);
  for (uint32_t l = 0; l < nlist; ++l) centroids[l] = static_cast<float>(l);
  EXPECT_TRUE(
      w.WriteSection(io::kTagCentroids, Raw(centroids.data(), nlist * 4)).ok());
  if (family == IndexFamily::kIvfPq) {
    std::vector<float> books(256);
    for (int c = 0; c < 256; ++c) books[c] = static_cast<float>(c);
    EXPECT_TRUE(
        w.WriteSection(io::kTagCodebooks, Raw(books.data(), 1024)).ok());
  }
  // LSTA: lead, 0, lead pad bytes, then the counts from a 64-aligned offset.
  const uint64_t payload_at = w.offset() + io::kSectionHeaderBytes;
  const uint32_t lead =
      static_cast<uint32_t>((64 - (payload_at + 8) % 64) % 64);
  const uint64_t table = (uint64_t{nlist} * 8 + 63) / 64 * 64;
  std::string lists;
  const uint32_t prefix[2] = {lead, 0};
  lists += Raw(prefix, 8);
  lists += std::string(lead, '\0');
  lists += std::string(table, '\0');
  EXPECT_TRUE(w.WriteSection(io::kTagListsAligned, lists).ok());
  EXPECT_TRUE(w.Finish().ok());
  return bytes;
}

// Overwrites the u32 at `offset` of section `tag`'s payload and fixes the
// section's checksum.
std::string PatchU32(std::string bytes, uint32_t tag, size_t offset,
                     uint32_t value) {
  return testing::PatchSection(std::move(bytes), tag,
                               [&](char* payload, uint64_t length) {
                                 ASSERT_LE(offset + 4, length);
                                 std::memcpy(payload + offset, &value, 4);
                               });
}

// Small saved indexes of every family and traversal.
struct SavedIndex {
  std::string name;
  std::string bytes;
};

// One small index of every family, untrained and empty, made by `make`.
struct SmallIndex {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<Index>>()> make;
};

constexpr int kSmallDim = 8;

std::vector<SmallIndex> SmallIndexes() {
  constexpr int kDim = kSmallDim;
  std::vector<std::pair<std::string, IndexSpec>> specs = {
      {"flat", FlatOptions{.dim = kDim}},
      {"ivf_flat", IvfFlatOptions{.ivf = {.dim = kDim, .nlist = 4}}},
      {"ivf_pq8", IvfPqOptions{.ivf = {.dim = kDim, .nlist = 4},
                               .pq_m = 4,
                               .pq_bits = 8,
                               .keep_raw_vectors = true}},
      {"ivf_pq4",
       IvfPqOptions{.ivf = {.dim = kDim, .nlist = 4}, .pq_m = 4, .pq_bits = 4}},
      {"hnsw", HnswOptions{.dim = kDim, .m = 4, .ef_construction = 16}},
      {"hnsw_sq8", HnswOptions{.dim = kDim,
                               .m = 4,
                               .ef_construction = 16,
                               .traversal = HnswOptions::Traversal::kSq8}},
      {"hnsw_sq4", HnswOptions{.dim = kDim,
                               .m = 4,
                               .ef_construction = 16,
                               .traversal = HnswOptions::Traversal::kSq4}},
      {"hnsw_fp16", HnswOptions{.dim = kDim,
                                .m = 4,
                                .ef_construction = 16,
                                .traversal = HnswOptions::Traversal::kFp16}},
  };
  std::vector<SmallIndex> out;
  for (const auto& [name, spec] : specs) {
    out.push_back({name, [spec] { return MakeIndex(spec); }});
  }
  for (const auto& [name, factory] :
       {std::pair<std::string, std::string>{"rot_hnsw", "Rot,HNSW4"},
        {"rot_ivf_flat", "Rot,IVF4,Flat"}}) {
    out.push_back({name, [factory] { return MakeIndex(factory, kDim); }});
  }
  return out;
}

// The vectors the small indexes are trained on and hold.
constexpr int64_t kSmallN = 300;
std::vector<float> SmallBase() {
  return testing::ClusteredVectors(kSmallN, kSmallDim, 4, 3);
}

std::vector<SavedIndex> SmallSavedIndexes() {
  const std::vector<float> base = SmallBase();
  const std::vector<int64_t> ids = SequentialIds(kSmallN, 1000);
  const MatrixView<const float> x(base.data(), kSmallN, kSmallDim);
  std::vector<SavedIndex> out;
  for (const SmallIndex& small : SmallIndexes()) {
    auto index = small.make();
    EXPECT_TRUE(index.ok()) << small.name << ": " << index.status();
    if (!index.ok()) continue;
    if ((*index)->capabilities().needs_training) {
      EXPECT_TRUE((*index)->Train(x).ok()) << small.name;
    }
    EXPECT_TRUE((*index)->Add(x, ids).ok()) << small.name;
    std::string bytes;
    StringWriter w(&bytes);
    EXPECT_TRUE((*index)->Save(w).ok()) << small.name;
    out.push_back({small.name, std::move(bytes)});
  }
  return out;
}

// Nodes declaring 30 upper levels without links would have the loader
// allocate 30 lists of 257 words per node: more than the file holds can
// make sense of. DataLoss, within the bound.
TEST(LoadBoundsTest, HnswUpperLevelsBeyondTheFileAreDataLoss) {
  const std::string file = TallHnswFile(1000, 30);
  for (const LoadOutcome& got : {LoadCounted(file), LoadMappedCounted(file)}) {
    EXPECT_EQ(got.code, absl::StatusCode::kDataLoss) << got.message;
    EXPECT_LE(got.peak, Bound(file)) << "file " << file.size() << " bytes";
  }
  // One node up to the top level is a graph that can happen: it loads.
  EXPECT_EQ(LoadCounted(TallHnswFile(1, 30)).code, absl::StatusCode::kOk);
}

// Valid files whose contents are all small or all empty (the bookkeeping
// per row, per node and per list against the bytes that pay for it), and
// saved indexes of every family, load within the bound.
TEST(LoadBoundsTest, LoadsStayWithinTheBound) {
  std::vector<std::pair<std::string, std::string>> files = {
      {"hnsw one wide node", WideHnswFile(1u << 20)},
      {"hnsw level-1 nodes", TallHnswFile(2000, 1)},
      {"flat dim 1", FlatFile(50000)},
      {"ivf_flat empty lists",
       EmptyListsIvfFile(IndexFamily::kIvfFlat, 100000)},
      {"ivf_pq empty lists", EmptyListsIvfFile(IndexFamily::kIvfPq, 100000)},
  };
  for (SavedIndex& saved : SmallSavedIndexes()) {
    files.emplace_back("saved " + saved.name, std::move(saved.bytes));
  }
  for (const auto& [what, file] : files) {
    for (bool mapped : {false, true}) {
      const LoadOutcome got =
          mapped ? LoadMappedCounted(file) : LoadCounted(file);
      EXPECT_EQ(got.code, absl::StatusCode::kOk) << what << ": " << got.message;
      EXPECT_LE(got.peak, Bound(file))
          << what << (mapped ? " (mapped)" : "") << ": file " << file.size()
          << " bytes, peak " << got.peak << " ("
          << static_cast<double>(got.peak) / file.size() << "x)";
    }
  }
}

// Values that only steer work are range-checked on load as MakeIndex checks
// them: 2^30 in any of them is DataLoss.
TEST(LoadBoundsTest, SteeringValuesOutOfRangeAreDataLoss) {
  const std::vector<SavedIndex> saved = SmallSavedIndexes();
  auto find = [&](const std::string& name) -> const std::string& {
    for (const SavedIndex& s : saved) {
      if (s.name == name) return s.bytes;
    }
    ADD_FAILURE() << name;
    return saved.front().bytes;
  };
  constexpr uint32_t kHuge = 1u << 30;
  // PARM offsets: HNSW m, ef_construction, default_ef; IVF nlist,
  // default_nprobe, kmeans_iterations, max_points_per_centroid, (seed,
  // trained,) then IVF-PQ pq_m, pq_bits, keep_raw, default_rerank_factor,
  // pq_training_points.
  const std::vector<std::tuple<std::string, std::string, size_t>> cases = {
      {"hnsw ef_construction", "hnsw", 4},
      {"hnsw default_ef", "hnsw", 8},
      {"ivf_flat default_nprobe", "ivf_flat", 4},
      {"ivf_flat kmeans_iterations", "ivf_flat", 8},
      {"ivf_flat max_points_per_centroid", "ivf_flat", 12},
      {"ivf_pq default_nprobe", "ivf_pq8", 4},
      {"ivf_pq kmeans_iterations", "ivf_pq8", 8},
      {"ivf_pq default_rerank_factor", "ivf_pq8", 40},
      {"ivf_pq pq_training_points", "ivf_pq8", 44},
  };
  for (const auto& [what, name, offset] : cases) {
    const std::string file =
        PatchU32(find(name), io::kTagParams, offset, kHuge);
    MemoryReader r(file);
    auto loaded = LoadIndex(r);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss)
        << what << ": " << loaded.status();
  }
  // MakeIndex refuses the same values.
  EXPECT_FALSE(
      MakeIndex(HnswOptions{.dim = 8, .ef_construction = 1 << 30}).ok());
  EXPECT_FALSE(MakeIndex(HnswOptions{.dim = 8, .default_ef = 1 << 30}).ok());
  EXPECT_FALSE(
      MakeIndex(IvfFlatOptions{.ivf = {.dim = 8, .default_nprobe = 1 << 30}})
          .ok());
  EXPECT_FALSE(
      MakeIndex(IvfFlatOptions{.ivf = {.dim = 8, .kmeans_iterations = 1 << 30}})
          .ok());
  EXPECT_FALSE(MakeIndex(IvfPqOptions{.ivf = {.dim = 8},
                                      .pq_m = 4,
                                      .keep_raw_vectors = true,
                                      .default_rerank_factor = 1 << 30})
                   .ok());
}

// Failing each allocation of a load in turn: the load returns
// ResourceExhausted (or succeeds where the failure is absorbed), and no
// exception leaves LoadIndex or LoadIndexFromFile.
TEST(LoadBoundsTest, AllocationFailureIsResourceExhausted) {
  for (const SavedIndex& s : SmallSavedIndexes()) {
    for (bool mapped : {false, true}) {
      const LoadOutcome clean =
          mapped ? LoadMappedCounted(s.bytes) : LoadCounted(s.bytes);
      ASSERT_EQ(clean.code, absl::StatusCode::kOk) << s.name;
      int exhausted = 0;
      for (int64_t k = 0; k < clean.calls; ++k) {
        const LoadOutcome got =
            mapped ? LoadMappedCounted(s.bytes, k) : LoadCounted(s.bytes, k);
        EXPECT_TRUE(got.code == absl::StatusCode::kOk ||
                    got.code == absl::StatusCode::kResourceExhausted)
            << s.name << " failing allocation " << k << ": " << got.message;
        exhausted += got.code == absl::StatusCode::kResourceExhausted;
      }
      EXPECT_GT(exhausted, 0) << s.name;
    }
  }
}

// Whatever a failed call left, the index still takes an Add (of ids no test
// batch uses) and a Search. `what` names the case in failure messages.
void ExpectStillTakesCalls(Index& index, const std::string& what,
                           Executor* executor = nullptr) {
  constexpr int64_t kMore = 10;
  const std::vector<float> more =
      testing::ClusteredVectors(kMore, kSmallDim, 4, 11);
  EXPECT_TRUE(index
                  .Add(MatrixView<const float>(more.data(), kMore, kSmallDim),
                       SequentialIds(kMore, 9000), executor)
                  .ok())
      << what;
  const auto found =
      testing::RunSearch(index, more, kSmallDim, {.k = 1}, executor);
  EXPECT_TRUE(found.status.ok()) << what << ": " << found.status;
}

// Failing each allocation of an Add, and of a Remove, in turn (one thread,
// so the allocations come in the same order every time): the call returns
// ResourceExhausted or succeeds, and an index whose call failed saves the
// same bytes as before it. The one documented exception (README,
// "Reliability"): an HNSW Add that runs out of memory while linking keeps
// its whole batch, and the next Add works.
TEST(AllocationFailureTest, FailedAddOrRemoveLeavesTheIndexAsItWas) {
  constexpr int kDim = kSmallDim;
  constexpr int64_t kExtra = 40;
  const std::vector<float> extra =
      testing::ClusteredVectors(kExtra, kDim, 4, 9);
  const std::vector<int64_t> extra_ids = SequentialIds(kExtra, 5000);
  const std::vector<int64_t> gone = {1000, 1003, 1010, 1150, 1299};
  for (const SavedIndex& s : SmallSavedIndexes()) {
    const bool hnsw = s.name.find("hnsw") != std::string::npos;
    // Mapped, the call first copies what it changes.
    const std::string path = ::testing::TempDir() + "/allocation_failure_" +
                             std::to_string(getpid()) + ".vindex";
    WriteFile(path, s.bytes);
    for (const auto [remove, mapped] : {std::pair{false, false},
                                        {true, false},
                                        {false, true},
                                        {true, true}}) {
      const std::string what =
          s.name + (remove ? " Remove" : " Add") + (mapped ? " (mapped)" : "");
      // Runs the call with the fail_at-th allocation failing on a fresh copy
      // of the saved index, loaded outside the counted scope.
      const auto run = [&](int64_t fail_at, int64_t* calls) {
        MemoryReader reader(s.bytes);
        auto index =
            mapped ? LoadIndexFromFile(path, LoadOptions{.memory_map = true})
                   : LoadIndex(reader);
        EXPECT_TRUE(index.ok()) << what << ": " << index.status();
        absl::Status st;
        {
          AllocationScope scope(fail_at);
          st = remove ? (*index)->Remove(gone)
                      : (*index)->Add(
                            MatrixView<const float>(extra.data(), kExtra, kDim),
                            extra_ids);
          *calls = scope.calls();
        }
        return std::make_pair(st, std::move(*index));
      };
      int64_t clean_calls = 0;
      auto [clean, clean_index] = run(-1, &clean_calls);
      ASSERT_TRUE(clean.ok()) << what << ": " << clean;
      MemoryReader reader(s.bytes);
      const std::string before = testing::Saved(**LoadIndex(reader));
      const int64_t size_before =
          clean_index->info().size + (remove ? int64_t(gone.size()) : -kExtra);
      int exhausted = 0;
      for (int64_t k = 0; k < clean_calls; ++k) {
        int64_t calls = 0;
        auto [st, index] = run(k, &calls);
        ASSERT_TRUE(st.ok() ||
                    st.code() == absl::StatusCode::kResourceExhausted)
            << what << ", failing allocation " << k << ": " << st;
        if (st.ok()) continue;
        ++exhausted;
        if (testing::Saved(*index) != before) {
          // Only the documented exception may differ: all of the batch in.
          ASSERT_TRUE(hnsw && !remove)
              << what << ", failing allocation " << k << " changed the index";
          ASSERT_EQ(index->info().size, size_before + kExtra)
              << what << ", failing allocation " << k;
        } else {
          ASSERT_EQ(index->info().size, size_before) << what;
        }
        ExpectStillTakesCalls(
            *index, what + ", failing allocation " + std::to_string(k));
      }
      EXPECT_GT(exhausted, 0) << what;
    }
  }
}

void ExpectFailedTrainLeavesNothingBehind(Executor* executor);

// Failing each allocation of a Train in turn: ResourceExhausted or OK, and a
// refused Train leaves nothing behind: training again and adding the same
// vectors saves exactly what an index trained at the first try saves. On a
// pool of 3 threads the allocations come in no fixed order, so a spread of
// about 40 of them is failed instead.
TEST(AllocationFailureTest, FailedTrainLeavesNothingBehind) {
  ThreadPool pool(3);
  for (Executor* executor :
       {static_cast<Executor*>(nullptr), static_cast<Executor*>(&pool)}) {
    SCOPED_TRACE(executor == nullptr ? "no executor" : "3 threads");
    ExpectFailedTrainLeavesNothingBehind(executor);
  }
}

void ExpectFailedTrainLeavesNothingBehind(Executor* executor) {
  const std::vector<float> base = SmallBase();
  const std::vector<int64_t> ids = SequentialIds(kSmallN, 1000);
  const MatrixView<const float> x(base.data(), kSmallN, kSmallDim);
  int trained_families = 0;
  for (const SmallIndex& small : SmallIndexes()) {
    auto clean = small.make();
    ASSERT_TRUE(clean.ok()) << small.name << ": " << clean.status();
    if (!(*clean)->capabilities().needs_training) continue;
    ++trained_families;
    int64_t calls = 0;
    {
      AllocationScope scope;
      ASSERT_TRUE((*clean)->Train(x, executor).ok()) << small.name;
      calls = scope.calls();
    }
    ASSERT_TRUE((*clean)->Add(x, ids).ok()) << small.name;
    const std::string expected = testing::Saved(**clean);
    int exhausted = 0;
    const int64_t step =
        executor == nullptr ? 1 : std::max<int64_t>(1, calls / 40);
    for (int64_t k = 0; k < calls; k += step) {
      auto index = small.make();
      ASSERT_TRUE(index.ok()) << small.name;
      absl::Status st;
      {
        AllocationScope scope(k);
        st = (*index)->Train(x, executor);
      }
      ASSERT_TRUE(st.ok() || st.code() == absl::StatusCode::kResourceExhausted)
          << small.name << ", failing allocation " << k << ": " << st;
      if (st.ok()) continue;
      ++exhausted;
      ASSERT_TRUE((*index)->Train(x, executor).ok())
          << small.name << ", failing allocation " << k;
      ASSERT_TRUE((*index)->Add(x, ids).ok())
          << small.name << ", failing allocation " << k;
      ASSERT_EQ(testing::Saved(**index), expected)
          << small.name << ", failing allocation " << k;
    }
    EXPECT_GT(exhausted, 0) << small.name;
  }
  EXPECT_GE(trained_families, 5);
}

// As above with a pool of 3 threads and a batch large enough to be linked in
// parallel: the allocations come in no fixed order, so a spread of them is
// failed. Nothing hangs or aborts, each call is ResourceExhausted or OK, a
// refused call leaves a non-HNSW index's bytes unchanged (an HNSW Add keeps
// all of its batch or none), and the index then takes an Add and a Search.
TEST(AllocationFailureTest, FailedParallelAddLeavesTheIndexUsable) {
  constexpr int kDim = kSmallDim;
  constexpr int64_t kExtra = 400;
  const std::vector<float> extra =
      testing::ClusteredVectors(kExtra, kDim, 4, 21);
  const std::vector<int64_t> extra_ids = SequentialIds(kExtra, 20000);
  ThreadPool pool(3);
  for (const SavedIndex& s : SmallSavedIndexes()) {
    const bool hnsw = s.name.find("hnsw") != std::string::npos;
    const auto load = [&] {
      MemoryReader reader(s.bytes);
      auto index = LoadIndex(reader);
      EXPECT_TRUE(index.ok()) << s.name << ": " << index.status();
      return std::move(*index);
    };
    const std::string before = testing::Saved(*load());
    const int64_t size_before = load()->info().size;
    int64_t calls = 0;
    {
      auto index = load();
      AllocationScope scope;
      ASSERT_TRUE(index
                      ->Add(MatrixView<const float>(extra.data(), kExtra, kDim),
                            extra_ids, &pool)
                      .ok())
          << s.name;
      calls = scope.calls();
    }
    const int64_t step = std::max<int64_t>(1, calls / 40);
    int exhausted = 0;
    for (int64_t k = 0; k < calls; k += step) {
      auto index = load();
      absl::Status st;
      {
        AllocationScope scope(k);
        st = index->Add(MatrixView<const float>(extra.data(), kExtra, kDim),
                        extra_ids, &pool);
      }
      ASSERT_TRUE(st.ok() || st.code() == absl::StatusCode::kResourceExhausted)
          << s.name << ", failing allocation " << k << ": " << st;
      if (st.ok()) continue;
      ++exhausted;
      if (hnsw) {
        const int64_t size = index->info().size;
        ASSERT_TRUE(size == size_before || size == size_before + kExtra)
            << s.name << ", failing allocation " << k << ": size " << size;
      } else {
        ASSERT_EQ(testing::Saved(*index), before)
            << s.name << ", failing allocation " << k << " changed the index";
      }
      ExpectStillTakesCalls(
          *index, s.name + ", failing allocation " + std::to_string(k), &pool);
    }
    EXPECT_GT(exhausted, 0) << s.name;
  }
}

}  // namespace
}  // namespace vindex
