#include "index/hnsw/hnsw_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <thread>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "absl/strings/str_cat.h"
#include "core/call_guard.h"
#include "core/metric_space.h"
#include "core/parallel.h"
#include "core/row_mask.h"
#include "core/status_macros.h"
#include "core/topk.h"
#include "core/validate.h"
#include "core/visited_set.h"
#include "kernels/kernels.h"
#include "kernels/sq_kernels.h"

namespace vindex {
namespace {

constexpr uint64_t kNoEntry = ~uint64_t{0};
constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();
// An Add runs LinkUnreachable when the vectors added since its last run reach
// 1/kLinkCheckShare of the slots: a pass over the graph costs about as much
// as inserting a few dozen vectors, so this bounds its share of insert time.
constexpr uint64_t kLinkCheckShare = 16;
constexpr uint32_t kFreeEpoch = std::numeric_limits<uint32_t>::max();
constexpr int kMaxLevel = 30;
constexpr int kMaxM = 256;
// Candidate list sizes (ef_construction, default_ef) only steer work; the
// bound keeps a hostile file from making every Add or Search crawl.
constexpr int kMaxEf = 1 << 16;
constexpr size_t kBlockAlign = 4;

inline uint64_t PackEntry(int level, uint32_t slot) {
  return (static_cast<uint64_t>(level) << 32) | slot;
}

// Link words are read while other threads insert, so every access that can
// overlap a writer is atomic. Nothing else is published through them (vector
// data is written under the exclusive lock), so relaxed order suffices; on
// x86 these are plain moves.
inline uint32_t LoadLink(const uint32_t* p) {
  return std::atomic_ref<uint32_t>(*const_cast<uint32_t*>(p))
      .load(std::memory_order_relaxed);
}
inline void StoreLink(uint32_t* p, uint32_t v) {
  std::atomic_ref<uint32_t>(*p).store(v, std::memory_order_relaxed);
}

inline void Prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }
inline void PrefetchBytes(const char* p, size_t bytes) {
  for (size_t o = 0; o < bytes; o += 64) Prefetch(p + o);
}

inline size_t RoundUp(size_t x, size_t a) { return (x + a - 1) / a * a; }

// Allocates `bytes` (a multiple of 64) for level-0 blocks, or nullptr. The
// 2 MiB-aligned part of the array asks for transparent huge pages: a graph
// walk touches a random block per neighbour, and with 4 KiB pages most of
// those also missed the TLB. (Aligning the whole array instead would cost up
// to 2 MiB of slack per index.)
// (Through operator new, like every other allocation of the library, so one
// replacement of it sees and can fail them all.)
constexpr std::align_val_t kBlocksAlign{64};
char* AllocateBlocks(size_t bytes) {
  char* p =
      static_cast<char*>(::operator new(bytes, kBlocksAlign, std::nothrow));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
  if (p != nullptr) {
    const uintptr_t at = reinterpret_cast<uintptr_t>(p);
    const uintptr_t begin = (at + kHugePage - 1) & ~(kHugePage - 1);
    const uintptr_t end = (at + bytes) & ~(kHugePage - 1);
    if (end > begin) {  // Only a hint; ignored where THP is off.
      (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
    }
  }
#endif
  return p;
}

void FreeBlocks(char* p) {
  if (p != nullptr) ::operator delete(p, kBlocksAlign);
}

inline bool ByDistance(const auto& a, const auto& b) {
  return a.d < b.d || (a.d == b.d && a.slot < b.slot);
}

}  // namespace

// Per-query (or per-insert) scratch, from scratch_.
struct HnswIndex::Scratch {
  internal::VisitedSet visited;
  std::vector<Candidate> candidates;  // Min-heap by d.
  std::vector<Candidate> results;     // Max-heap by d, at most ef.
  std::vector<uint32_t> batch;        // Unvisited neighbours of one node.
  std::vector<Candidate> select;      // Neighbour selection of an insert.
  std::vector<Candidate> prune;       // Pruning a full list in Connect.
  std::vector<Candidate> chosen;      // An insert's lists, top level first.
  std::vector<size_t> chosen_end;     // Per level: end of its list in chosen.
  std::vector<uint8_t> qcode;         // Quantized query.
  internal::TopK top;

  // Called by the pool: buffers a huge ef grew are not kept. (The visited
  // set is sized by the index, not by the request, and stays.)
  void Trim() {
    internal::ReleaseIfAbove(candidates);
    internal::ReleaseIfAbove(results);
    internal::ReleaseIfAbove(batch);
    internal::ReleaseIfAbove(select);
    internal::ReleaseIfAbove(prune);
    top.ReleaseIfAbove(internal::kMaxPooledBufferBytes);
  }
};

// Float vectors at base + slot * stride.
class HnswIndex::FloatSpace {
 public:
  FloatSpace(const HnswIndex& index, const float* q, const char* base,
             size_t stride)
      : q_(q),
        base_(base),
        stride_(stride),
        dim_(index.dim_),
        ip_(index.options_.metric != Metric::kL2),
        fn_(ip_ ? kernels::Active().inner_product : kernels::Active().l2_sqr) {}
  float Dist(uint32_t slot) const {
    const float v =
        fn_(q_, reinterpret_cast<const float*>(base_ + slot * stride_), dim_);
    return ip_ ? -v : v;
  }
  // Like Dist, but may stop early with a partial sum once it reaches
  // `bound` (squared L2 only grows with more dimensions), so a node that
  // cannot enter the results costs only part of its vector.
  float DistBelow(uint32_t slot, float bound) const {
    if (ip_ || dim_ < 2 * kChunk) return Dist(slot);
    const float* x = reinterpret_cast<const float*>(base_ + slot * stride_);
    float sum = 0;
    size_t j = 0;
    for (; j + kChunk < dim_; j += kChunk) {
      sum += fn_(q_ + j, x + j, kChunk);
      if (sum >= bound) return sum;
    }
    return sum + fn_(q_ + j, x + j, dim_ - j);
  }
  const char* Data(uint32_t slot) const { return base_ + slot * stride_; }
  size_t bytes() const { return dim_ * sizeof(float); }
  // The bytes to prefetch of a node about to be scored.
  size_t prefetch_bytes() const {
    return ip_ ? bytes()
               : std::min(bytes(), kPrefetchChunks * kChunk * sizeof(float));
  }

 private:
  static constexpr size_t kChunk = 128;
  // Prefetching whole long vectors would fetch what early exits skip; two
  // chunks ahead was the best of 1, 2, 3 and all on fashion-mnist (784-d).
  static constexpr size_t kPrefetchChunks = 2;
  const float* q_;
  const char* base_;
  size_t stride_;
  size_t dim_;
  bool ip_;
  float (*fn_)(const float*, const float*, size_t);
};

// SQ8 codes in the level-0 blocks; squared L2 between codes (L2 and cosine).
class HnswIndex::Sq8L2Space {
 public:
  Sq8L2Space(const HnswIndex& index, const uint8_t* qcode)
      : q_(qcode),
        base_(index.level0_),
        stride_(index.block_bytes_),
        dim_(index.dim_),
        fn_(kernels::sq::Active().l2_sqr_u8) {}
  float Dist(uint32_t slot) const {
    return static_cast<float>(fn_(
        q_, reinterpret_cast<const uint8_t*>(base_ + slot * stride_), dim_));
  }
  const char* Data(uint32_t slot) const { return base_ + slot * stride_; }
  size_t bytes() const { return dim_; }
  size_t prefetch_bytes() const { return bytes(); }
  float DistBelow(uint32_t slot, float) const { return Dist(slot); }

 private:
  const uint8_t* q_;
  const char* base_;
  size_t stride_;
  size_t dim_;
  uint32_t (*fn_)(const uint8_t*, const uint8_t*, size_t);
};

// SQ8 codes; negative inner product of the query's own 8-bit code with the
// node code (see ScalarQuantizer8::EncodeQueryForIp).
class HnswIndex::Sq8IpSpace {
 public:
  Sq8IpSpace(const HnswIndex& index, const uint8_t* qcode, float lo,
             float scale)
      : q_(qcode),
        base_(index.level0_),
        stride_(index.block_bytes_),
        dim_(index.dim_),
        sum_offset_(RoundUp(index.dim_, 4)),
        lo_(lo),
        scale_(scale),
        fn_(kernels::sq::Active().dot_u8) {}
  float Dist(uint32_t slot) const {
    const char* b = base_ + slot * stride_;
    uint32_t sum;
    std::memcpy(&sum, b + sum_offset_, sizeof(sum));
    const uint32_t dot = fn_(q_, reinterpret_cast<const uint8_t*>(b), dim_);
    return -(lo_ * static_cast<float>(sum) + scale_ * static_cast<float>(dot));
  }
  const char* Data(uint32_t slot) const { return base_ + slot * stride_; }
  size_t bytes() const { return dim_; }
  size_t prefetch_bytes() const { return bytes(); }
  float DistBelow(uint32_t slot, float) const { return Dist(slot); }

 private:
  const uint8_t* q_;
  const char* base_;
  size_t stride_;
  size_t dim_;
  size_t sum_offset_;
  float lo_;
  float scale_;
  uint32_t (*fn_)(const uint8_t*, const uint8_t*, size_t);
};

// fp16 copies in the level-0 blocks against the float query.
class HnswIndex::Fp16Space {
 public:
  Fp16Space(const HnswIndex& index, const float* q)
      : q_(q),
        base_(index.level0_),
        stride_(index.block_bytes_),
        dim_(index.dim_),
        ip_(index.options_.metric != Metric::kL2),
        fn_(ip_ ? kernels::sq::Active().ip_f16
                : kernels::sq::Active().l2_sqr_f16) {}
  float Dist(uint32_t slot) const {
    const float v = fn_(
        q_, reinterpret_cast<const uint16_t*>(base_ + slot * stride_), dim_);
    return ip_ ? -v : v;
  }
  const char* Data(uint32_t slot) const { return base_ + slot * stride_; }
  size_t bytes() const { return dim_ * sizeof(uint16_t); }
  size_t prefetch_bytes() const { return bytes(); }
  float DistBelow(uint32_t slot, float) const { return Dist(slot); }

 private:
  const float* q_;
  const char* base_;
  size_t stride_;
  size_t dim_;
  bool ip_;
  float (*fn_)(const float*, const uint16_t*, size_t);
};

struct HnswIndex::AdmitAll {
  bool operator()(uint32_t) const { return true; }
};

// Visible (published, not free) and, when a filter is given, allowed. The
// filter is asked only about nodes that would enter the results.
struct HnswIndex::AdmitVisible {
  const uint32_t* epochs;
  uint32_t snapshot;
  const IdFilter* filter;
  const int64_t* ids;
  bool operator()(uint32_t slot) const {
    return epochs[slot] <= snapshot &&
           (filter == nullptr || filter->Allows(ids[slot]));
  }
};

// How one Search call applies its filter: walk the graph asking the filter
// lazily, or scan the allowed slots exhaustively.
struct HnswIndex::FilterPlan {
  const IdFilter* lazy = nullptr;
  bool scan = false;
  std::vector<uint32_t> slots;  // Allowed visible slots when scanning.
};

absl::StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::Create(
    const HnswOptions& options) {
  VINDEX_RETURN_IF_ERROR(internal::CheckDimMetric(options.dim, options.metric));
  if (options.device == Device::kGpu) {
    return absl::InvalidArgumentError("HnswIndex is a CPU index");
  }
  if (options.m < 2 || options.m > kMaxM) {
    return absl::InvalidArgumentError(
        absl::StrCat("HNSW m must be in [2, ", kMaxM, "], got ", options.m));
  }
  if (options.ef_construction < 1 || options.ef_construction > kMaxEf) {
    return absl::InvalidArgumentError(
        absl::StrCat("HNSW ef_construction must be in [1, ", kMaxEf, "], got ",
                     options.ef_construction));
  }
  if (options.default_ef < 1 || options.default_ef > kMaxEf) {
    return absl::InvalidArgumentError(
        absl::StrCat("HNSW default_ef must be in [1, ", kMaxEf, "], got ",
                     options.default_ef));
  }
  switch (options.traversal) {
    case HnswOptions::Traversal::kFloat:
      break;
    case HnswOptions::Traversal::kSq8:
      if (static_cast<size_t>(options.dim) > kernels::kSqMaxDim) {
        return absl::InvalidArgumentError(
            absl::StrCat("HNSW SQ8 traversal needs dim <= ", kernels::kSqMaxDim,
                         ", got ", options.dim));
      }
      break;
    case HnswOptions::Traversal::kFp16:
      break;
    default:
      return absl::InvalidArgumentError("unknown HNSW traversal");
  }
  HnswOptions o = options;
  o.device = Device::kCpu;
  return std::unique_ptr<HnswIndex>(new HnswIndex(o));
}

HnswIndex::HnswIndex(const HnswOptions& options)
    : options_(options),
      dim_(options.dim),
      m_(options.m),
      m0_(2 * options.m),
      level_mult_(1.0 / std::log(static_cast<double>(options.m))),
      quantized_(options.traversal != HnswOptions::Traversal::kFloat),
      sq8_(options.traversal == HnswOptions::Traversal::kSq8),
      entry_(kNoEntry) {
  payload_bytes_ = !quantized_ ? dim_ * sizeof(float)
                   : sq8_      ? RoundUp(dim_, 4) + sizeof(uint32_t)
                               : RoundUp(dim_ * sizeof(uint16_t), 4);
  block_bytes_ =
      RoundUp(payload_bytes_ + sizeof(uint32_t) * (1 + m0_), kBlockAlign);
}

HnswIndex::~HnswIndex() {
  if (mapping_ == nullptr) FreeBlocks(level0_);
}

uint32_t* HnswIndex::Links(uint32_t slot, int level) const {
  if (level == 0)
    return reinterpret_cast<uint32_t*>(Block(slot) + payload_bytes_);
  return upper_[slot].get() + static_cast<size_t>(level - 1) * (1 + m_);
}

const float* HnswIndex::FullVector(uint32_t slot) const {
  if (quantized_) {
    return (full_view_ != nullptr ? full_view_ : full_.data()) +
           size_t{slot} * dim_;
  }
  return reinterpret_cast<const float*>(Block(slot));
}

float HnswIndex::Distance(const float* a, const float* b) const {
  const kernels::KernelTable& kt = kernels::Active();
  if (options_.metric == Metric::kL2) return kt.l2_sqr(a, b, dim_);
  return -kt.inner_product(a, b, dim_);
}

void HnswIndex::LockNode(uint32_t slot) const {
  std::atomic_ref<uint8_t> lock(locks_[slot]);
  while (lock.exchange(1, std::memory_order_acquire) != 0) {
    int spins = 0;
    while (lock.load(std::memory_order_relaxed) != 0) {
      if (++spins > 64) std::this_thread::yield();
    }
  }
}

void HnswIndex::UnlockNode(uint32_t slot) const {
  std::atomic_ref<uint8_t>(locks_[slot]).store(0, std::memory_order_release);
}

void HnswIndex::ResizeSlotArrays(uint64_t cap) {
  ids_.resize(cap, -1);
  levels_.resize(cap, 0);
  upper_.resize(cap);
  epochs_.resize(cap, kFreeEpoch);
  locks_.resize(cap, 0);
}

void HnswIndex::Grow(uint32_t slots) {
  if (slots <= capacity_ && mapping_ == nullptr) return;
  uint64_t cap =
      slots <= capacity_
          ? capacity_
          : std::max<uint64_t>({slots, uint64_t{capacity_} * 3 / 2, 64});
  cap = std::min<uint64_t>(cap, std::numeric_limits<uint32_t>::max() - 1);
  const size_t bytes = RoundUp(cap * block_bytes_, 64);
  char* fresh = AllocateBlocks(bytes);
  if (fresh == nullptr) throw std::bad_alloc();
  try {
    if (quantized_) {
      if (full_view_ != nullptr) {
        full_.reserve(cap * dim_);
        full_.assign(full_view_, full_view_ + size_t{num_slots_} * dim_);
      }
      full_.resize(cap * dim_);
    }
    ResizeSlotArrays(cap);
  } catch (...) {
    FreeBlocks(fresh);
    throw;
  }
  const bool from_mapping = mapping_ != nullptr;
  if (level0_ != nullptr)
    std::memcpy(fresh, level0_, size_t{num_slots_} * block_bytes_);
  std::memset(fresh + size_t{num_slots_} * block_bytes_, 0,
              bytes - size_t{num_slots_} * block_bytes_);
  if (mapping_ == nullptr) FreeBlocks(level0_);
  level0_ = fresh;
  full_view_ = nullptr;
  mapping_.reset();
  capacity_ = static_cast<uint32_t>(cap);
  if (from_mapping) RepairCopiedMapping();
}

void HnswIndex::RepairCopiedMapping() {
  // Every slot of a mapped index is live (the first mutation unmaps it).
  for (uint32_t x = 0; x < num_slots_; ++x) {
    uint32_t* list = Links(x, 0);
    const uint32_t cnt = std::min<uint32_t>(list[0], m0_);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < cnt; ++i) {
      const uint32_t y = list[1 + i];
      if (y < num_slots_ && y != x) list[1 + kept++] = y;
    }
    list[0] = kept;
    float* v = quantized_ ? full_.data() + size_t{x} * dim_
                          : reinterpret_cast<float*>(Block(x));
    for (int j = 0; j < dim_; ++j) {
      if (!std::isfinite(v[j])) v[j] = 0.0f;
    }
    if (quantized_ && !sq8_) {
      uint16_t* half = reinterpret_cast<uint16_t*>(Block(x));
      for (int j = 0; j < dim_; ++j) {
        if ((half[j] & 0x7C00) == 0x7C00) half[j] = 0;
      }
    }
  }
}

absl::Status HnswIndex::UnmapLocked() {
  if (mapping_ == nullptr) return absl::OkStatus();
  try {
    Grow(num_slots_);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory copying a mapped HNSW");
  }
  return absl::OkStatus();
}

int HnswIndex::DrawLevel(uint64_t counter) const {
  // splitmix64 of (seed, counter): reproducible and independent of threads.
  uint64_t z = options_.seed + (counter + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  const double u = (static_cast<double>(z >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
  const double level = -std::log(u) * level_mult_;
  return level >= kMaxLevel ? kMaxLevel : static_cast<int>(level);
}

void HnswIndex::WritePayload(uint32_t slot, const float* v) {
  char* b = Block(slot);
  if (!quantized_) {
    std::memcpy(b, v, dim_ * sizeof(float));
    return;
  }
  std::memcpy(full_.data() + size_t{slot} * dim_, v, dim_ * sizeof(float));
  if (!sq8_) {
    uint16_t* half = reinterpret_cast<uint16_t*>(b);
    for (int j = 0; j < dim_; ++j) half[j] = kernels::FloatToHalf(v[j]);
    return;
  }
  uint8_t* code = reinterpret_cast<uint8_t*>(b);
  sq_.Encode(v, code);
  const uint32_t sum = internal::ScalarQuantizer8::CodeSum(code, dim_);
  std::memcpy(b + RoundUp(dim_, 4), &sum, sizeof(sum));
}

template <typename Space>
uint32_t HnswIndex::GreedyDescend(const Space& space, uint32_t ep, float* d_ep,
                                  int from_level, int to_level) const {
  float best = *d_ep;
  for (int level = from_level; level > to_level; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const uint32_t* list = Links(ep, level);
      const uint32_t n = std::min<uint32_t>(LoadLink(list), m_);
      for (uint32_t i = 0; i < n; ++i)
        Prefetch(space.Data(LoadLink(list + 1 + i)));
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t x = LoadLink(list + 1 + i);
        const float d = space.Dist(x);
        if (d < best) {
          best = d;
          ep = x;
          changed = true;
        }
      }
    }
  }
  *d_ep = best;
  return ep;
}

template <typename Space, typename Admit>
void HnswIndex::SearchLayer(const Space& space, uint32_t ep, float d_ep,
                            int level, int ef, const Admit& admit,
                            Scratch& s) const {
  const auto min_first = [](const Candidate& a, const Candidate& b) {
    return a.d > b.d;
  };
  const auto max_first = [](const Candidate& a, const Candidate& b) {
    return a.d < b.d;
  };
  auto& cand = s.candidates;
  auto& res = s.results;
  cand.clear();
  res.clear();
  const uint32_t slots = num_slots_;
  s.visited.Reset(slots);
  s.visited.Mark(ep);
  if (s.batch.size() < static_cast<size_t>(m0_)) s.batch.resize(m0_);
  float bound = std::numeric_limits<float>::infinity();
  cand.push_back({d_ep, ep});
  if (admit(ep)) {
    res.push_back({d_ep, ep});
    if (ef == 1) bound = d_ep;
  }
  const size_t ef_size = static_cast<size_t>(ef);
  const size_t cap = static_cast<size_t>(Capacity(level));
  const size_t bytes = space.prefetch_bytes();
  uint32_t* batch = s.batch.data();
  while (!cand.empty()) {
    const Candidate c = cand.front();
    if (c.d > bound) break;
    std::pop_heap(cand.begin(), cand.end(), min_first);
    cand.pop_back();
    // The next best candidate is usually the next one expanded: fetch its
    // link list while this one's neighbours are scored.
    if (!cand.empty()) {
      PrefetchBytes(
          reinterpret_cast<const char*>(Links(cand.front().slot, level)),
          sizeof(uint32_t) * (1 + cap));
    }
    const uint32_t* list = Links(c.slot, level);
    const size_t n = std::min<size_t>(LoadLink(list), cap);
    size_t nb = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t x = LoadLink(list + 1 + i);
      // Level-0 words of a mapped file may have changed since they were
      // checked: a link out of range is skipped, never followed.
      if (x < slots && !s.visited.TestAndMark(x)) {
        batch[nb++] = x;
        Prefetch(space.Data(x));
      }
    }
    for (size_t j = 0; j < nb && j < 2; ++j)
      PrefetchBytes(space.Data(batch[j]), bytes);
    for (size_t j = 0; j < nb; ++j) {
      if (j + 2 < nb) PrefetchBytes(space.Data(batch[j + 2]), bytes);
      const uint32_t x = batch[j];
      const float d = space.DistBelow(x, bound);
      if (!(d < bound)) continue;
      cand.push_back({d, x});
      std::push_heap(cand.begin(), cand.end(), min_first);
      if (admit(x)) {
        res.push_back({d, x});
        std::push_heap(res.begin(), res.end(), max_first);
        if (res.size() > ef_size) {
          std::pop_heap(res.begin(), res.end(), max_first);
          res.pop_back();
        }
        if (res.size() == ef_size) bound = res.front().d;
      }
    }
  }
}

void HnswIndex::SelectNeighbors(std::vector<Candidate>& cands, int max,
                                std::vector<Candidate>* fill) const {
  if (cands.size() <= static_cast<size_t>(max)) return;
  size_t kept = 0;
  for (size_t i = 0; i < cands.size() && kept < static_cast<size_t>(max); ++i) {
    const float* v = FullVector(cands[i].slot);
    bool diverse = true;
    for (size_t j = 0; j < kept; ++j) {
      if (Distance(v, FullVector(cands[j].slot)) < cands[i].d) {
        diverse = false;
        break;
      }
    }
    if (diverse) {
      cands[kept++] = cands[i];
    } else if (fill != nullptr) {
      fill->push_back(cands[i]);
    }
  }
  cands.resize(kept);
  if (fill != nullptr) {
    for (size_t i = 0;
         i < fill->size() && cands.size() < static_cast<size_t>(max); ++i) {
      cands.push_back((*fill)[i]);
    }
  }
}

void HnswIndex::Connect(uint32_t from, uint32_t to, float d, int level,
                        Scratch& s) {
  const uint32_t cap = static_cast<uint32_t>(Capacity(level));
  LockNode(from);
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
    SelectNeighbors(p, static_cast<int>(cap));
    for (size_t i = 0; i < p.size(); ++i) StoreLink(list + 1 + i, p[i].slot);
    StoreLink(list, static_cast<uint32_t>(p.size()));
  }
  UnlockNode(from);
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
  if (level > static_cast<int>(e >> 32)) {
    top_lock.lock();
    e = entry_.load(std::memory_order_acquire);
  }
  const int top = static_cast<int>(e >> 32);
  uint32_t ep = static_cast<uint32_t>(e);
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
      SelectNeighbors(sel, m_);
    }
    chosen.insert(chosen.end(), sel.begin(), sel.end());
    s.chosen_end[l] = chosen.size();
  }
  LockNode(slot);
  for (int l = first; l >= 0; --l) {
    const size_t begin = l == first ? 0 : s.chosen_end[l + 1];
    uint32_t* own = Links(slot, l);
    for (size_t i = begin; i < s.chosen_end[l]; ++i)
      StoreLink(own + 1 + (i - begin), chosen[i].slot);
    StoreLink(own, static_cast<uint32_t>(s.chosen_end[l] - begin));
  }
  UnlockNode(slot);
  // Links in bottom up: once the node is reachable on a level, its lists on
  // that level and below are complete.
  for (int l = 0; l <= first; ++l) {
    const size_t begin = l == first ? 0 : s.chosen_end[l + 1];
    for (size_t i = begin; i < s.chosen_end[l]; ++i)
      Connect(chosen[i].slot, slot, chosen[i].d, l, s);
  }
  if (level > top)
    entry_.store(PackEntry(level, slot), std::memory_order_release);
}

void HnswIndex::LinkUnreachable(std::vector<uint8_t>& reached,
                                std::vector<uint32_t>& queue, Scratch& s) {
  const uint64_t e = entry_.load(std::memory_order_relaxed);
  if (e == kNoEntry) return;
  const uint32_t entry = static_cast<uint32_t>(e);
  const int top = static_cast<int>(e >> 32);
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

IndexInfo HnswIndex::info() const {
  std::shared_lock lock(mu_);
  IndexInfo info;
  info.family = IndexFamily::kHnsw;
  info.device = Device::kCpu;
  info.metric = options_.metric;
  info.dim = dim_;
  info.size = live_;
  info.trained = true;
  uint64_t bytes =
      RoundUp(size_t{capacity_} * block_bytes_, 64) +
      (full_view_ != nullptr ? size_t{num_slots_} * dim_ : 0) * sizeof(float) +
      full_.capacity() * sizeof(float) + ids_.capacity() * sizeof(int64_t) +
      levels_.capacity() + upper_.capacity() * sizeof(upper_[0]) +
      epochs_.capacity() * sizeof(uint32_t) + locks_.capacity() +
      free_slots_.capacity() * sizeof(uint32_t) + row_of_.bytes() +
      upper_words_ * sizeof(uint32_t);
  info.memory_bytes = bytes;
  info.memory_mapped = mapping_ != nullptr;
  info.description = absl::StrCat("HNSW", m_,
                                  !quantized_ ? ""
                                  : sq8_      ? ",SQ8"
                                              : ",FP16");
  return info;
}

Capabilities HnswIndex::capabilities() const {
  return Capabilities{.needs_training = false,
                      .remove = true,
                      .get_vectors = true,
                      .filter = true,
                      .add_during_search = true};
}

absl::Status HnswIndex::Train(MatrixView<const float> samples,
                              Executor* executor) {
  return internal::GuardedCall(
      this, "Train", [&] { return TrainUnguarded(samples, executor); });
}

absl::Status HnswIndex::TrainUnguarded(MatrixView<const float> samples,
                                       Executor*) {
  VINDEX_RETURN_IF_ERROR(internal::CheckMatrix(samples, dim_, "training vector",
                                               /*allow_empty=*/true));
  if (!sq8_ || samples.rows == 0) return absl::OkStatus();
  std::lock_guard<std::mutex> mutation(mutation_mu_);
  std::unique_lock lock(mu_);
  if (live_ > 0 || num_slots_ > 0) {
    return absl::FailedPreconditionError(
        "cannot retrain the SQ8 quantizer of a non-empty index");
  }
  std::vector<float> rows;
  VINDEX_RETURN_IF_ERROR(internal::CopyRows(
      samples, options_.metric == Metric::kCosine, &rows, "training vector"));
  sq_.Fit(rows.data(), samples.rows, dim_);
  return absl::OkStatus();
}

absl::Status HnswIndex::Add(MatrixView<const float> vectors,
                            absl::Span<const int64_t> ids, Executor* executor) {
  return internal::GuardedCall(
      this, "Add", [&] { return AddUnguarded(vectors, ids, executor); });
}

absl::Status HnswIndex::AddUnguarded(MatrixView<const float> vectors,
                                     absl::Span<const int64_t> ids,
                                     Executor* executor) {
  VINDEX_RETURN_IF_ERROR(internal::CheckMatrix(vectors, dim_, "vector"));
  VINDEX_RETURN_IF_ERROR(internal::CheckNewIds(ids, vectors.rows));
  std::vector<float> rows;
  try {
    VINDEX_RETURN_IF_ERROR(internal::CopyRows(
        vectors, options_.metric == Metric::kCosine, &rows, "vector"));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory copying vectors");
  }
  const int64_t n = vectors.rows;
  std::lock_guard<std::mutex> mutation(mutation_mu_);
  std::vector<uint32_t> slots(n);
  std::vector<uint8_t> reached;  // For LinkUnreachable, sized in phase 1.
  std::exception_ptr linking_failed;
  std::vector<uint32_t> queue;
  bool check_links = false;
  uint32_t epoch = 0;
  int64_t first = 0;
  {
    // Phase 1 (exclusive): every allocation and every non-link write.
    std::unique_lock lock(mu_);
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
    // The level-0 walk costs a pass over the graph, so it runs once the
    // vectors added since the last one are 1/kLinkCheckShare of the index.
    check_links = (added_since_link_check_ + n) * kLinkCheckShare >= need;
    std::vector<std::unique_ptr<uint32_t[]>> upper(n);
    std::vector<uint8_t> levels(n);
    try {
      Grow(static_cast<uint32_t>(need));
      if (check_links) {
        reached.resize(need);
        queue.reserve(need);
      }
      row_of_.Reserve(row_of_.size() + n);
      for (int64_t i = 0; i < n; ++i) {
        levels[i] = static_cast<uint8_t>(DrawLevel(insert_counter_ + i));
        if (levels[i] > 0) {
          upper[i].reset(new uint32_t[size_t{levels[i]} * (1 + m_)]());
        }
      }
      if (sq8_ && !sq_.fitted()) sq_.Fit(rows.data(), n, dim_);
    } catch (const std::bad_alloc&) {
      return absl::ResourceExhaustedError(
          "out of memory growing the HNSW index");
    }
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
    }
    if (entry_.load(std::memory_order_relaxed) == kNoEntry) {
      entry_.store(PackEntry(levels_[slots[0]], slots[0]),
                   std::memory_order_release);
      first = 1;
    }
  }
  {
    // Phase 2 (shared): link the new nodes in parallel; searches may run.
    std::shared_lock lock(mu_);
    const int64_t todo = n - first;
    const int64_t grain = std::clamp<int64_t>(
        todo / (8 * internal::NumThreads(executor)), 1, 256);
    try {
      internal::ParallelForRange(executor, todo, grain,
                                 [&](int64_t b, int64_t e) {
                                   auto s = scratch_.Acquire();
                                   for (int64_t i = b; i < e; ++i)
                                     Insert(slots[first + i], *s);
                                 });
      if (check_links) LinkUnreachable(reached, queue, *scratch_.Acquire());
    } catch (...) {
      // Scratch ran out of memory mid-link. The batch is stored and partly
      // linked, and links cannot be taken back: publish it as it is, have
      // the next write repair reachability, and report the failure.
      linking_failed = std::current_exception();
    }
  }
  // Phase 3: publish the batch at once.
  std::unique_lock lock(mu_);
  published_epoch_.store(epoch, std::memory_order_release);
  live_ += n;
  if (linking_failed) {
    added_since_link_check_ = std::max<uint64_t>(added_since_link_check_,
                                                 num_slots_ / kLinkCheckShare);
    std::rethrow_exception(linking_failed);
  }
  return absl::OkStatus();
}

template <typename Space>
void HnswIndex::SearchOne(const Space& space, const float* query, int k, int ef,
                          const IdFilter* filter, uint32_t snapshot, Scratch& s,
                          int64_t* out_ids, float* out_d) const {
  const uint64_t e = entry_.load(std::memory_order_acquire);
  uint32_t ep = static_cast<uint32_t>(e);
  float d = space.Dist(ep);
  ep = GreedyDescend(space, ep, &d, static_cast<int>(e >> 32), 0);
  // With no Add in flight and no filter every reachable node is admitted
  // (free slots have no links to them), which spares a lookup per result.
  if (filter == nullptr && pending_epoch_ == snapshot) {
    SearchLayer(space, ep, d, 0, ef, AdmitAll{}, s);
  } else {
    SearchLayer(space, ep, d, 0, ef,
                AdmitVisible{epochs_.data(), snapshot, filter, ids_.data()}, s);
  }
  s.top.Reset(k);
  for (const Candidate& c : s.results) {
    const float exact = quantized_ ? Distance(query, FullVector(c.slot)) : c.d;
    s.top.Push(exact, ids_[c.slot]);
  }
  s.top.Finish(out_ids, out_d);
}

void HnswIndex::ScanAllowed(const float* query, int k,
                            const std::vector<uint32_t>& slots,
                            int64_t* out_ids, float* out_d) const {
  internal::TopK top(k);
  const size_t n = slots.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + 2 < n)
      PrefetchBytes(reinterpret_cast<const char*>(FullVector(slots[i + 2])),
                    dim_ * sizeof(float));
    top.Push(Distance(query, FullVector(slots[i])), ids_[slots[i]]);
  }
  top.Finish(out_ids, out_d);
}

double HnswIndex::ScanLimit(int64_t n, int ef) {
  return 168.0 * std::cbrt(static_cast<double>(n)) * std::sqrt(ef / 32.0);
}

HnswIndex::FilterPlan HnswIndex::PlanFilter(const IdFilter& filter,
                                            uint32_t snapshot, int ef) const {
  FilterPlan plan;
  const double limit = brute_force_fraction_ >= 0
                           ? brute_force_fraction_ * static_cast<double>(live_)
                           : ScanLimit(live_, ef);
  const auto visible = [&](uint32_t slot) { return epochs_[slot] <= snapshot; };
  // Collects the allowed slots, giving up (to walk the graph lazily) as soon
  // as there are more than `limit` of them.
  const auto collect = [&] {
    for (uint32_t x = 0; x < num_slots_; ++x) {
      if (visible(x) && filter.Allows(ids_[x])) {
        plan.slots.push_back(x);
        if (static_cast<double>(plan.slots.size()) > limit) break;
      }
    }
    plan.scan = static_cast<double>(plan.slots.size()) <= limit;
    if (!plan.scan) {
      plan.slots.clear();
      plan.lazy = &filter;
    }
  };
  switch (filter.kind()) {
    case IdFilter::Kind::kAllowList:
      if (static_cast<double>(filter.listed_ids().size()) <= limit) {
        for (int64_t id : filter.listed_ids()) {
          const uint32_t slot = row_of_.Find(id);
          if (slot != internal::IdSlotMap::kNotFound && visible(slot)) {
            plan.slots.push_back(slot);
          }
        }
        plan.scan = true;
        return plan;
      }
      break;
    case IdFilter::Kind::kDenyList:
      if (static_cast<double>(live_) -
              static_cast<double>(filter.listed_ids().size()) <=
          limit) {
        collect();
        return plan;
      }
      break;
    case IdFilter::Kind::kRange:
    case IdFilter::Kind::kPredicate: {
      // Estimate the allowed fraction from a pseudo-random sample of slots;
      // count exactly only when it may be under the switch point.
      int seen = 0, allowed = 0;
      uint64_t h = 0x9E3779B97F4A7C15ull;
      for (int i = 0; i < 512; ++i) {
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        const uint32_t x = static_cast<uint32_t>((h >> 33) % num_slots_);
        if (!visible(x)) continue;
        ++seen;
        allowed += filter.Allows(ids_[x]) ? 1 : 0;
      }
      if (seen == 0 || allowed <= 1.5 * limit / live_ * seen + 2) {
        collect();
        return plan;
      }
      break;
    }
  }
  plan.lazy = &filter;
  return plan;
}

absl::Status HnswIndex::Search(MatrixView<const float> queries,
                               const SearchParams& params, SearchOutput out,
                               Executor* executor) const {
  return internal::GuardedCall(this, "Search", [&] {
    return SearchUnguarded(queries, params, out, executor);
  });
}

absl::Status HnswIndex::SearchUnguarded(MatrixView<const float> queries,
                                        const SearchParams& params,
                                        SearchOutput out,
                                        Executor* executor) const {
  VINDEX_RETURN_IF_ERROR(internal::CheckSearch(queries, params, out, dim_));
  if (params.ef < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ef must be >= 0, got ", params.ef));
  }
  const Metric metric = options_.metric;
  std::vector<float> normalized;
  if (metric == Metric::kCosine) {
    VINDEX_RETURN_IF_ERROR(
        internal::CopyRows(queries, true, &normalized, "query"));
    queries =
        MatrixView<const float>(normalized.data(), queries.rows, queries.cols);
  }
  const int k = params.k;
  std::shared_lock lock(mu_);
  const uint32_t snapshot = published_epoch_.load(std::memory_order_acquire);
  if (live_ == 0 && params.filter != nullptr) {
    return absl::FailedPreconditionError(
        "search with a filter on an empty index");
  }
  if (live_ == 0) {
    for (int64_t i = 0; i < queries.rows; ++i) {
      std::fill(out.ids.row(i), out.ids.row(i) + k, -1);
      std::fill(out.distances.row(i), out.distances.row(i) + k,
                internal::MissingDistance(metric));
    }
    return absl::OkStatus();
  }
  const int ef = std::max(params.ef > 0 ? params.ef : options_.default_ef, k);
  FilterPlan plan;
  if (params.filter != nullptr) plan = PlanFilter(*params.filter, snapshot, ef);
  const IdFilter* lazy = plan.lazy;
  const bool ip_codes = metric == Metric::kInnerProduct;
  const int64_t grain = std::clamp<int64_t>(
      queries.rows / (8 * internal::NumThreads(executor)), 1, 64);
  internal::ParallelForRange(
      executor, queries.rows, grain, [&](int64_t b, int64_t e) {
        auto s = scratch_.Acquire();
        for (int64_t i = b; i < e; ++i) {
          const float* q = queries.row(i);
          int64_t* oid = out.ids.row(i);
          float* od = out.distances.row(i);
          if (plan.scan) {
            ScanAllowed(q, k, plan.slots, oid, od);
          } else if (!quantized_) {
            FloatSpace space(*this, q, level0_, block_bytes_);
            SearchOne(space, q, k, ef, lazy, snapshot, *s, oid, od);
          } else if (!sq8_) {
            Fp16Space space(*this, q);
            SearchOne(space, q, k, ef, lazy, snapshot, *s, oid, od);
          } else {
            s->qcode.resize(dim_);
            if (ip_codes) {
              float lo, scale;
              internal::ScalarQuantizer8::EncodeQueryForIp(
                  q, dim_, s->qcode.data(), &lo, &scale);
              Sq8IpSpace space(*this, s->qcode.data(), lo, scale);
              SearchOne(space, q, k, ef, lazy, snapshot, *s, oid, od);
            } else {
              sq_.Encode(q, s->qcode.data());
              Sq8L2Space space(*this, s->qcode.data());
              SearchOne(space, q, k, ef, lazy, snapshot, *s, oid, od);
            }
          }
          internal::ResultsToNatural(metric, oid, od, k);
        }
      });
  return absl::OkStatus();
}

template <typename OnRepair>
void HnswIndex::PlanRepairs(const std::vector<uint8_t>& removed, Scratch& s,
                            OnRepair on_repair) const {
  // Every surviving list that points at a removed node gets a new one.
  // Candidates: a fresh search for the node's neighbourhood on that level
  // (walking through removed nodes, whose links are still intact, but
  // admitting only survivors), its surviving links, and the removed
  // neighbours' links.
  auto& cands = s.select;
  const uint64_t top = entry_.load(std::memory_order_relaxed);
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
      uint32_t ep = static_cast<uint32_t>(top);
      float d_ep = space.Dist(ep);
      ep = GreedyDescend(space, ep, &d_ep, static_cast<int>(top >> 32), l);
      const auto survivor = [&](uint32_t y) { return !removed[y] && y != x; };
      SearchLayer(space, ep, d_ep, l, options_.ef_construction, survivor, s);
      s.visited.Reset(num_slots_);
      s.visited.Mark(x);
      cands.clear();
      auto offer = [&](uint32_t y) {
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
      SelectNeighbors(cands, Capacity(l));
      on_repair(x, l, cands);
    }
  }
}

absl::Status HnswIndex::Remove(absl::Span<const int64_t> ids) {
  return internal::GuardedCall(this, "Remove",
                               [&] { return RemoveUnguarded(ids); });
}

absl::Status HnswIndex::RemoveUnguarded(absl::Span<const int64_t> ids) {
  VINDEX_RETURN_IF_ERROR(internal::CheckNoRepeats(ids, "Remove"));
  std::lock_guard<std::mutex> mutation(mutation_mu_);
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
    std::shared_lock lock(mu_);
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
    std::unique_lock lock(mu_);
    VINDEX_RETURN_IF_ERROR(UnmapLocked());
  }
  {
    std::shared_lock lock(mu_);
    try {
      removed.assign(num_slots_, 0);
      gone.reserve(ids.size());
      for (int64_t id : ids) {
        const uint32_t slot = row_of_.Find(id);
        removed[slot] = 1;
        gone.push_back(slot);
      }
      PlanRepairs(removed, *s,
                  [&](uint32_t x, int l, const std::vector<Candidate>& links) {
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
    } catch (const std::bad_alloc&) {
      return absl::ResourceExhaustedError(
          "out of memory removing from the HNSW index");
    }
  }

  std::unique_lock lock(mu_);
  std::vector<uint8_t> reached;  // For LinkUnreachable.
  std::vector<uint32_t> queue;
  try {
    free_slots_.reserve(free_slots_.size() + ids.size());
    reached.resize(num_slots_);
    queue.reserve(num_slots_);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory removing from the HNSW index");
  }
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
  if (e != kNoEntry && removed[static_cast<uint32_t>(e)]) {
    uint64_t best = kNoEntry;
    int best_level = -1;
    for (uint32_t x = 0; x < num_slots_; ++x) {
      if (ids_[x] != -1 && levels_[x] > best_level) {
        best_level = levels_[x];
        best = PackEntry(best_level, x);
      }
    }
    entry_.store(best, std::memory_order_release);
  }
  if (live_ == 0) entry_.store(kNoEntry, std::memory_order_release);
  // The repaired lists may leave a group of survivors without a way in.
  LinkUnreachable(reached, queue, *s);
  added_since_link_check_ = 0;
  return absl::OkStatus();
}

absl::Status HnswIndex::GetVectors(absl::Span<const int64_t> ids,
                                   MatrixView<float> out) const {
  return internal::GuardedCall(this, "GetVectors",
                               [&] { return GetVectorsUnguarded(ids, out); });
}

absl::Status HnswIndex::GetVectorsUnguarded(absl::Span<const int64_t> ids,
                                            MatrixView<float> out) const {
  if (out.rows != static_cast<int64_t>(ids.size()) || out.cols != dim_ ||
      (out.data == nullptr && !ids.empty()) || out.row_stride() < out.cols) {
    return absl::InvalidArgumentError(
        absl::StrCat("GetVectors output must be ", ids.size(), " x ", dim_));
  }
  std::shared_lock lock(mu_);
  const uint32_t snapshot = published_epoch_.load(std::memory_order_acquire);
  for (int64_t id : ids) {
    const uint32_t slot = row_of_.Find(id);
    if (slot == internal::IdSlotMap::kNotFound || epochs_[slot] > snapshot) {
      return absl::NotFoundError(
          absl::StrCat("id ", id, " is not in the index"));
    }
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint32_t slot = row_of_.Find(ids[i]);
    std::memcpy(out.row(i), FullVector(slot), dim_ * sizeof(float));
  }
  return absl::OkStatus();
}

absl::Status HnswIndex::CheckGraphForTesting() const {
  std::shared_lock lock(mu_);
  int max_level = -1;
  for (uint32_t x = 0; x < num_slots_; ++x) {
    if (ids_[x] == -1) continue;
    max_level = std::max<int>(max_level, levels_[x]);
    for (int l = 0; l <= levels_[x]; ++l) {
      const uint32_t* list = Links(x, l);
      if (list[0] > static_cast<uint32_t>(Capacity(l))) {
        return absl::InternalError(
            absl::StrCat("slot ", x, " level ", l, " has ", list[0], " links"));
      }
      for (uint32_t i = 0; i < list[0]; ++i) {
        const uint32_t y = list[1 + i];
        if (y >= num_slots_ || y == x || ids_[y] == -1 || levels_[y] < l) {
          return absl::InternalError(
              absl::StrCat("slot ", x, " level ", l, " has a bad link to ", y));
        }
      }
    }
  }
  const uint64_t e = entry_.load();
  if (max_level < 0) {
    if (e != kNoEntry)
      return absl::InternalError("empty graph with an entry point");
    return absl::OkStatus();
  }
  const uint32_t ep = static_cast<uint32_t>(e);
  if (e == kNoEntry || ep >= num_slots_ || ids_[ep] == -1 ||
      levels_[ep] != max_level || static_cast<int>(e >> 32) != max_level) {
    return absl::InternalError(
        "entry point is not a live node of the top level");
  }
  return absl::OkStatus();
}

std::vector<uint32_t> HnswIndex::UnreachableSlotsForTesting() const {
  std::shared_lock lock(mu_);
  std::vector<uint32_t> unreachable;
  const uint64_t e = entry_.load();
  std::vector<uint8_t> seen(num_slots_, 0);
  if (e != kNoEntry) {
    std::vector<uint32_t> queue = {static_cast<uint32_t>(e)};
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

void HnswIndex::set_epoch_for_testing(uint32_t epoch) {
  std::unique_lock lock(mu_);
  published_epoch_.store(epoch);
  pending_epoch_ = epoch;
}

int64_t HnswIndex::slot_capacity_for_testing() const {
  std::shared_lock lock(mu_);
  return capacity_;
}

namespace {

// The last word of PARM; files without it (an unreleased layout) are
// refused.
constexpr uint32_t kLayoutBlocks = 1;

}  // namespace

// File layout (sections after the header, whose count is the live vectors):
//   PARM  m, ef_construction, default_ef (u32), seed (u64), traversal (u32),
//         insert counter (u64), entry row (i64, -1 if empty), sq fitted (u32)
//         [, sq step (f32), dim offsets (f32)], layout (u32, kLayoutBlocks)
//   IDS_  count x i64
//   GRL0  count level-0 blocks of block_bytes_ as held in memory: payload,
//         link count (u32), 2m link rows (u32; unused ones 0). The payload is
//         the vector (f32, normalised for cosine), or the SQ8 codes padded to
//         4 bytes and their u32 sum, or fp16 halves padded to 4 bytes.
//   VECS  quantized traversal only: count x dim f32, the exact vectors
//   GRPH  per row: level (u32), then per level 1..level: n (u32), n rows (u32)
// Rows are the live slots renumbered densely. The header and every section
// length are multiples of 4, so the GRL0 and VECS payloads are 4-byte aligned
// in the file and a mapped load serves them in place.
absl::Status HnswIndex::Save(Writer& writer) const {
  return internal::GuardedCall(this, "Save",
                               [&] { return SaveUnguarded(writer); });
}

absl::Status HnswIndex::SaveUnguarded(Writer& writer) const {
  std::lock_guard<std::mutex> mutation(mutation_mu_);
  std::shared_lock lock(mu_);
  std::vector<uint32_t> row(num_slots_, kFreeEpoch);
  std::vector<uint32_t> order;
  order.reserve(live_);
  for (uint32_t x = 0; x < num_slots_; ++x) {
    if (ids_[x] != -1) {
      row[x] = static_cast<uint32_t>(order.size());
      order.push_back(x);
    }
  }
  const uint64_t n = order.size();
  io::ContainerWriter w(writer);
  io::FileHeader h;
  h.family = IndexFamily::kHnsw;
  h.dim = static_cast<uint32_t>(dim_);
  h.metric = options_.metric;
  h.count = n;
  VINDEX_RETURN_IF_ERROR(w.WriteHeader(h));

  io::ByteBuilder p;
  p.U32(static_cast<uint32_t>(m_));
  p.U32(static_cast<uint32_t>(options_.ef_construction));
  p.U32(static_cast<uint32_t>(options_.default_ef));
  p.U64(options_.seed);
  p.U32(static_cast<uint32_t>(options_.traversal));
  p.U64(insert_counter_);
  const uint64_t e = entry_.load();
  p.I64(e == kNoEntry ? -1
                      : static_cast<int64_t>(row[static_cast<uint32_t>(e)]));
  p.U32(sq_.fitted() ? 1 : 0);
  if (sq_.fitted()) {
    p.F32(sq_.step());
    for (float o : sq_.offsets()) p.F32(o);
  }
  p.U32(kLayoutBlocks);
  VINDEX_RETURN_IF_ERROR(w.WriteSection(io::kTagParams, p.bytes()));

  VINDEX_RETURN_IF_ERROR(w.BeginSection(io::kTagIds, n * sizeof(int64_t)));
  for (uint32_t x : order)
    VINDEX_RETURN_IF_ERROR(w.WritePayload(&ids_[x], sizeof(int64_t)));
  VINDEX_RETURN_IF_ERROR(w.EndSection());

  VINDEX_RETURN_IF_ERROR(w.BeginSection(io::kTagLevel0, n * block_bytes_));
  constexpr size_t kBatch = 64;
  std::vector<char> blocks(kBatch * block_bytes_);
  size_t filled = 0;
  for (uint32_t x : order) {
    char* b = blocks.data() + filled * block_bytes_;
    std::memcpy(b, Block(x), payload_bytes_);
    // Each word read once and checked: a mapped file may have changed.
    const uint32_t* src = Links(x, 0);
    uint32_t* dst = reinterpret_cast<uint32_t*>(b + payload_bytes_);
    const uint32_t cnt = std::min<uint32_t>(LoadLink(src), m0_);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < cnt; ++i) {
      const uint32_t y = LoadLink(src + 1 + i);
      if (y < num_slots_ && y != x && row[y] != kFreeEpoch)
        dst[1 + kept++] = row[y];
    }
    dst[0] = kept;
    std::fill(dst + 1 + kept, dst + 1 + m0_, 0);
    if (++filled == kBatch) {
      VINDEX_RETURN_IF_ERROR(w.WritePayload(blocks.data(), blocks.size()));
      filled = 0;
    }
  }
  VINDEX_RETURN_IF_ERROR(w.WritePayload(blocks.data(), filled * block_bytes_));
  VINDEX_RETURN_IF_ERROR(w.EndSection());

  if (quantized_) {
    VINDEX_RETURN_IF_ERROR(
        w.BeginSection(io::kTagVectors, n * dim_ * sizeof(float)));
    for (uint32_t x : order) {
      VINDEX_RETURN_IF_ERROR(
          w.WritePayload(FullVector(x), dim_ * sizeof(float)));
    }
    VINDEX_RETURN_IF_ERROR(w.EndSection());
  }

  uint64_t words = 0;
  for (uint32_t x : order) {
    words += 1;
    for (int l = 1; l <= levels_[x]; ++l) words += 1 + Links(x, l)[0];
  }
  VINDEX_RETURN_IF_ERROR(
      w.BeginSection(io::kTagGraph, words * sizeof(uint32_t)));
  std::vector<uint32_t> buf;
  for (uint32_t x : order) {
    buf.clear();
    buf.push_back(levels_[x]);
    for (int l = 1; l <= levels_[x]; ++l) {
      const uint32_t* list = Links(x, l);
      buf.push_back(list[0]);
      for (uint32_t i = 0; i < list[0]; ++i) buf.push_back(row[list[1 + i]]);
    }
    VINDEX_RETURN_IF_ERROR(
        w.WritePayload(buf.data(), buf.size() * sizeof(uint32_t)));
  }
  VINDEX_RETURN_IF_ERROR(w.EndSection());
  return w.Finish();
}

absl::Status HnswIndex::ParseGraph(const std::vector<uint32_t>& graph) {
  const uint32_t n = num_slots_;
  // A node's upper levels take 1 + m words each whatever links they hold, so
  // a file could ask for far more than it contains. A real graph has about
  // 1 / (m - 1) upper levels per node; allowed are as many words as the
  // level-0 blocks hold (at least two levels per node) plus one node's
  // levels up to the top.
  const uint64_t max_upper_words =
      uint64_t{n} * (block_bytes_ / sizeof(uint32_t)) +
      uint64_t{kMaxLevel} * (1 + m_);
  size_t pos = 0;
  const auto need = [&](size_t words) { return graph.size() - pos >= words; };
  for (uint32_t r = 0; r < n; ++r) {
    if (!need(1)) return absl::DataLossError("graph section is truncated");
    const uint32_t level = graph[pos++];
    if (level > kMaxLevel)
      return absl::DataLossError(absl::StrCat("graph level ", level));
    if (upper_words_ + uint64_t{level} * (1 + m_) > max_upper_words) {
      return absl::DataLossError(absl::StrCat(
          "graph declares more upper levels than ", n, " nodes can have"));
    }
    levels_[r] = static_cast<uint8_t>(level);
    if (level > 0) upper_[r].reset(new uint32_t[size_t{level} * (1 + m_)]());
    upper_words_ += size_t{level} * (1 + m_);
    for (uint32_t l = 1; l <= level; ++l) {
      if (!need(1)) return absl::DataLossError("graph section is truncated");
      const uint32_t cnt = graph[pos++];
      if (cnt > static_cast<uint32_t>(Capacity(l)) || !need(cnt)) {
        return absl::DataLossError(
            absl::StrCat("graph row ", r, " has ", cnt, " links"));
      }
      uint32_t* list = Links(r, static_cast<int>(l));
      list[0] = cnt;
      for (uint32_t i = 0; i < cnt; ++i) {
        const uint32_t y = graph[pos++];
        if (y >= n || y == r) {
          return absl::DataLossError(
              absl::StrCat("graph row ", r, " links to ", y));
        }
        list[1 + i] = y;
      }
    }
  }
  if (pos != graph.size())
    return absl::DataLossError("graph section has trailing bytes");
  return absl::OkStatus();
}

absl::Status HnswIndex::CheckLevel0(uint32_t n) const {
  for (uint32_t r = 0; r < n; ++r) {
    const uint32_t* list = Links(r, 0);
    const uint32_t cnt = list[0];
    if (cnt > static_cast<uint32_t>(m0_)) {
      return absl::DataLossError(
          absl::StrCat("level-0 block ", r, " has ", cnt, " links"));
    }
    for (uint32_t i = 0; i < cnt; ++i) {
      const uint32_t y = list[1 + i];
      if (y >= n || y == r) {
        return absl::DataLossError(
            absl::StrCat("level-0 block ", r, " links to ", y));
      }
    }
    const float* v = FullVector(r);
    for (int j = 0; j < dim_; ++j) {
      if (!std::isfinite(v[j]))
        return absl::DataLossError("vectors have a non-finite value");
    }
    const char* b = Block(r);
    if (sq8_) {
      uint32_t sum;
      std::memcpy(&sum, b + RoundUp(dim_, 4), sizeof(sum));
      if (sum != internal::ScalarQuantizer8::CodeSum(
                     reinterpret_cast<const uint8_t*>(b), dim_)) {
        return absl::DataLossError(
            absl::StrCat("level-0 block ", r, " has a wrong code sum"));
      }
    } else if (quantized_) {
      const uint16_t* half = reinterpret_cast<const uint16_t*>(b);
      for (int j = 0; j < dim_; ++j) {
        if ((half[j] & 0x7C00) == 0x7C00) {
          return absl::DataLossError(
              absl::StrCat("level-0 block ", r, " has a non-finite half"));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status HnswIndex::CheckUpperLevels(uint32_t n) const {
  for (uint32_t r = 0; r < n; ++r) {
    for (int l = 1; l <= levels_[r]; ++l) {
      const uint32_t* list = Links(r, l);
      for (uint32_t i = 0; i < list[0]; ++i) {
        if (levels_[list[1 + i]] < l) {
          return absl::DataLossError(
              absl::StrCat("graph row ", r, " links above a node's level"));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Index>> HnswIndex::Load(
    const io::FileHeader& header, io::ContainerReader& reader) {
  const uint64_t n = header.count;
  const uint64_t d = header.dim;
  VINDEX_ASSIGN_OR_RETURN(std::string params,
                          reader.ReadSection(io::kTagParams, 1 << 22));
  io::ByteCursor c(params, "HNSW params");
  HnswOptions o;
  o.dim = static_cast<int>(header.dim);
  o.metric = header.metric;
  VINDEX_ASSIGN_OR_RETURN(uint32_t m, c.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t efc, c.U32());
  VINDEX_ASSIGN_OR_RETURN(uint32_t def_ef, c.U32());
  VINDEX_ASSIGN_OR_RETURN(o.seed, c.U64());
  VINDEX_ASSIGN_OR_RETURN(uint32_t traversal, c.U32());
  VINDEX_ASSIGN_OR_RETURN(uint64_t counter, c.U64());
  VINDEX_ASSIGN_OR_RETURN(int64_t entry, c.I64());
  VINDEX_ASSIGN_OR_RETURN(uint32_t fitted, c.U32());
  if (m < 2 || m > kMaxM || efc < 1 || efc > uint32_t{kMaxEf} || def_ef < 1 ||
      def_ef > uint32_t{kMaxEf} || traversal > 2 || fitted > 1) {
    return absl::DataLossError("HNSW params section has invalid values");
  }
  o.m = static_cast<int>(m);
  o.ef_construction = static_cast<int>(efc);
  o.default_ef = static_cast<int>(def_ef);
  o.traversal = static_cast<HnswOptions::Traversal>(traversal);
  auto created = Create(o);
  if (!created.ok()) {
    return absl::DataLossError(
        absl::StrCat("HNSW params rejected: ", created.status().message()));
  }
  std::unique_ptr<HnswIndex> index = std::move(*created);
  if (fitted) {
    VINDEX_ASSIGN_OR_RETURN(float step, c.F32());
    if (c.remaining() != d * sizeof(float) &&
        c.remaining() != d * sizeof(float) + sizeof(uint32_t)) {
      return absl::DataLossError(
          "HNSW params section has the wrong quantizer size");
    }
    std::vector<float> offsets(d);
    for (uint64_t j = 0; j < d; ++j) {
      VINDEX_ASSIGN_OR_RETURN(offsets[j], c.F32());
      if (!std::isfinite(offsets[j]))
        return absl::DataLossError("bad quantizer offset");
    }
    if (!(step > 0.0f) || !std::isfinite(step)) {
      return absl::DataLossError("bad quantizer step");
    }
    if (!index->sq8_)
      return absl::DataLossError("quantizer in a float HNSW file");
    index->sq_.Set(std::move(offsets), step);
  }
  VINDEX_ASSIGN_OR_RETURN(uint32_t layout, c.U32());
  if (layout != kLayoutBlocks) {
    return absl::DataLossError(
        absl::StrCat("unknown HNSW file layout ", layout));
  }
  VINDEX_RETURN_IF_ERROR(c.ExpectEnd());
  if (n >= std::numeric_limits<uint32_t>::max() - 1) {
    return absl::DataLossError("HNSW file holds too many vectors");
  }
  if (index->sq8_ && n > 0 && !index->sq_.fitted()) {
    return absl::DataLossError("SQ8 HNSW file without a quantizer");
  }
  if ((n == 0) != (entry == -1) || entry < -1 ||
      entry >= static_cast<int64_t>(n)) {
    return absl::DataLossError(
        absl::StrCat("HNSW entry point ", entry, " is invalid"));
  }
  const uint32_t rows = static_cast<uint32_t>(n);
  HnswIndex& ix = *index;

  VINDEX_ASSIGN_OR_RETURN(
      uint64_t ids_bytes,
      reader.BeginArraySection(io::kTagIds, n, sizeof(int64_t)));
  // Each length was checked against the bytes remaining, so allocations are
  // bounded by the input's size.
  std::vector<int64_t> ids(n);
  VINDEX_RETURN_IF_ERROR(reader.ReadPayload(ids.data(), ids_bytes));
  VINDEX_RETURN_IF_ERROR(reader.EndSection());

  // Served from the reader's memory when it lends it (a file mapping) and
  // the words are aligned there; copied otherwise.
  VINDEX_ASSIGN_OR_RETURN(
      uint64_t l0_bytes,
      reader.BeginArraySection(io::kTagLevel0, n, ix.block_bytes_));
  const char* view = nullptr;
  std::shared_ptr<const void> owner;
  if (n > 0)
    VINDEX_RETURN_IF_ERROR(reader.ViewPayload(l0_bytes, &view, &owner));
  if (view != nullptr &&
      reinterpret_cast<uintptr_t>(view) % alignof(uint32_t) == 0) {
    ix.ResizeSlotArrays(n);
    ix.level0_ = const_cast<char*>(view);
    ix.mapping_ = std::move(owner);
    ix.capacity_ = rows;
  } else if (n > 0) {
    // Exactly n slots (Grow would round up to at least 64 blocks, which for
    // a few long vectors is far more than the file holds).
    const size_t alloc_bytes = RoundUp(l0_bytes, 64);
    char* blocks = AllocateBlocks(alloc_bytes);
    if (blocks == nullptr) throw std::bad_alloc();
    std::memset(blocks + l0_bytes, 0, alloc_bytes - l0_bytes);
    ix.level0_ = blocks;
    ix.capacity_ = rows;
    ix.ResizeSlotArrays(n);
    if (ix.quantized_) ix.full_.resize(n * d);
    if (view != nullptr) {
      std::memcpy(ix.level0_, view, l0_bytes);
    } else {
      VINDEX_RETURN_IF_ERROR(reader.ReadPayload(ix.level0_, l0_bytes));
    }
  }
  VINDEX_RETURN_IF_ERROR(reader.EndSection());
  if (ix.quantized_) {
    VINDEX_RETURN_IF_ERROR(
        reader.BeginArraySection(io::kTagVectors, n, d * sizeof(float))
            .status());
    const size_t vec_bytes = n * d * sizeof(float);
    view = nullptr;
    if (n > 0 && ix.mapping_ != nullptr)
      VINDEX_RETURN_IF_ERROR(reader.ViewPayload(vec_bytes, &view, &owner));
    if (view != nullptr &&
        reinterpret_cast<uintptr_t>(view) % alignof(float) == 0) {
      ix.full_view_ = reinterpret_cast<const float*>(view);
    } else {
      if (ix.mapping_ != nullptr) ix.full_.resize(n * d);
      if (view != nullptr) {
        std::memcpy(ix.full_.data(), view, vec_bytes);
      } else {
        VINDEX_RETURN_IF_ERROR(reader.ReadPayload(ix.full_.data(), vec_bytes));
      }
    }
    VINDEX_RETURN_IF_ERROR(reader.EndSection());
  }

  VINDEX_ASSIGN_OR_RETURN(uint64_t graph_bytes,
                          reader.BeginSection(io::kTagGraph));
  if (graph_bytes % sizeof(uint32_t) != 0) {
    return absl::DataLossError("graph section length is not a multiple of 4");
  }
  std::vector<uint32_t> graph(graph_bytes / sizeof(uint32_t));
  VINDEX_RETURN_IF_ERROR(reader.ReadPayload(graph.data(), graph_bytes));
  VINDEX_RETURN_IF_ERROR(reader.EndSection());
  VINDEX_RETURN_IF_ERROR(reader.ReadEnd());

  ix.num_slots_ = rows;
  ix.row_of_.ReserveEmpty(n);
  for (uint64_t r = 0; r < n; ++r) {
    ix.ids_[r] = ids[r];
    if (ids[r] == -1 || !ix.row_of_.Insert(static_cast<uint32_t>(r))) {
      return absl::DataLossError(
          absl::StrCat("ids section has invalid or repeated id ", ids[r]));
    }
  }
  VINDEX_RETURN_IF_ERROR(ix.ParseGraph(graph));
  VINDEX_RETURN_IF_ERROR(ix.CheckLevel0(rows));
  VINDEX_RETURN_IF_ERROR(ix.CheckUpperLevels(rows));
  if (n > 0) {
    int max_level = 0;
    for (uint32_t r = 0; r < rows; ++r)
      max_level = std::max<int>(max_level, ix.levels_[r]);
    const uint32_t ep = static_cast<uint32_t>(entry);
    if (ix.levels_[ep] != max_level) {
      return absl::DataLossError("HNSW entry point is not on the top level");
    }
    ix.entry_.store(PackEntry(max_level, ep));
  }
  for (uint32_t r = 0; r < rows; ++r) ix.epochs_[r] = 0;
  ix.live_ = static_cast<int64_t>(n);
  ix.insert_counter_ = counter;
  return std::unique_ptr<Index>(std::move(index));
}

}  // namespace vindex
