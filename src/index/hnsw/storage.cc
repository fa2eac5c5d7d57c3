// HNSW storage: the per-slot arrays, the level-0 blocks (owned or served from
// a file mapping), growth, node locks, level draws and payload encoding.
#include "index/hnsw/storage.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <thread>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/allocation.h"
#include "index/hnsw/hnsw_index.h"
#include "index/hnsw/scratch.h"
#include "kernels/kernels.h"
#include "kernels/sq_kernels.h"

namespace vindex {
namespace hnsw {

// The 2 MiB-aligned part of the array asks for transparent huge pages: a
// graph walk touches a random block per neighbour, and with 4 KiB pages most
// of those also miss the TLB. (Aligning the whole array instead would cost up
// to 2 MiB of slack per index.) Through operator new, like every other
// allocation of the library, so one replacement of it sees and can fail them
// all.
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

}  // namespace hnsw

using hnsw::AllocateBlocks;
using hnsw::FreeBlocks;
using hnsw::kBlockAlign;
using hnsw::kFreeEpoch;
using hnsw::kMaxLevel;
using hnsw::kNoEntry;
using hnsw::kNoSlot;
using hnsw::RoundUp;

HnswIndex::HnswIndex(const HnswOptions& options)
    : options_(options),
      dim_(options.dim),
      m_(options.m),
      m0_(2 * options.m),
      level_mult_(1.0 / std::log(static_cast<double>(options.m))),
      quantized_(options.traversal != HnswOptions::Traversal::kFloat),
      sq_bits_(options.traversal == HnswOptions::Traversal::kSq8   ? 8
               : options.traversal == HnswOptions::Traversal::kSq4 ? 4
                                                                   : 0),
      entry_(kNoEntry) {
  payload_bytes_ =
      !quantized_     ? dim_ * sizeof(float)
      : sq_bits_ == 8 ? RoundUp(dim_, 4) + sizeof(uint32_t)
      : sq_bits_ == 4
          ? RoundUp(internal::ScalarQuantizer::PackedBytes(dim_), 4) +
                sizeof(uint32_t)
          : RoundUp(dim_ * sizeof(uint16_t), 4);
  // 4-bit blocks start on cache lines, so short codes take one line each.
  block_bytes_ = RoundUp(payload_bytes_ + sizeof(uint32_t) * (1 + m0_),
                         sq_bits_ == 4 ? 64 : kBlockAlign);
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
  parent_.resize(cap, kNoSlot);
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
  if (from_mapping) {
    RepairCopiedMapping();
    tree_current_ = false;
  }
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
    if (quantized_ && sq_bits_ == 0) {
      uint16_t* half = reinterpret_cast<uint16_t*>(Block(x));
      for (int j = 0; j < dim_; ++j) {
        if ((half[j] & 0x7C00) == 0x7C00) half[j] = 0;
      }
    }
  }
}

absl::Status HnswIndex::UnmapLocked() {
  if (mapping_ == nullptr) return absl::OkStatus();
  return internal::TryAllocate(
      "copying a mapped HNSW",
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { Grow(num_slots_); });
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
  if (sq_bits_ == 0) {
    uint16_t* half = reinterpret_cast<uint16_t*>(b);
    for (int j = 0; j < dim_; ++j) half[j] = kernels::FloatToHalf(v[j]);
    return;
  }
  // Runs where an Add can no longer fail: nothing here allocates.
  uint8_t* code = reinterpret_cast<uint8_t*>(b);
  uint32_t sum;
  if (sq_bits_ == 8) {
    sq_.Encode(v, code);
    sum = internal::ScalarQuantizer::CodeSum(code, dim_);
  } else {
    sq_.EncodePacked(v, code);
    sum = internal::ScalarQuantizer::PackedSum(code, dim_);
  }
  std::memcpy(b + payload_bytes_ - sizeof(sum), &sum, sizeof(sum));
}
}  // namespace vindex
