// HNSW storage vocabulary: the constants of the node layout, the packed entry
// point, atomic link-word access and the level-0 block allocation.
#ifndef VINDEX_SRC_INDEX_HNSW_STORAGE_H_
#define VINDEX_SRC_INDEX_HNSW_STORAGE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace vindex::hnsw {

constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();
// The epoch of a free slot: above every published epoch, so never visible.
constexpr uint32_t kFreeEpoch = std::numeric_limits<uint32_t>::max();
constexpr int kMaxLevel = 30;
constexpr int kMaxM = 256;
// Candidate list sizes (ef_construction, default_ef) only steer work; the
// bound keeps a hostile file from making every Add or Search crawl.
constexpr int kMaxEf = 1 << 16;
constexpr size_t kBlockAlign = 4;
// The largest HnswOptions::alpha.
constexpr float kMaxAlpha = 2.0f;

// The entry point, published as one atomic word (level in the high half, slot
// in the low half) so a reader never sees the level of one node with another.
struct EntryPoint {
  int level;
  uint32_t slot;
};
constexpr uint64_t kNoEntry = ~uint64_t{0};
inline uint64_t PackEntry(EntryPoint e) {
  return (static_cast<uint64_t>(e.level) << 32) | e.slot;
}
// `word` must not be kNoEntry.
inline EntryPoint UnpackEntry(uint64_t word) {
  return {static_cast<int>(word >> 32), static_cast<uint32_t>(word)};
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

inline size_t RoundUp(size_t x, size_t a) { return (x + a - 1) / a * a; }

// Nearest first; ties by slot so every order is reproducible.
inline bool ByDistance(const auto& a, const auto& b) {
  return a.d < b.d || (a.d == b.d && a.slot < b.slot);
}

// Allocates `bytes` (a multiple of 64) for level-0 blocks, or nullptr; asks
// for transparent huge pages where it can (see storage.cc).
char* AllocateBlocks(size_t bytes);
void FreeBlocks(char* p);

}  // namespace vindex::hnsw

#endif  // VINDEX_SRC_INDEX_HNSW_STORAGE_H_
