#ifndef VINDEX_SRC_CORE_PREFETCH_H_
#define VINDEX_SRC_CORE_PREFETCH_H_

// Software prefetch: one line, a byte range, and how far ahead of a row scan
// to fetch.

#include <cstddef>

namespace vindex::internal {

inline constexpr size_t kCacheLineBytes = 64;

// Bytes a streaming row scan keeps in flight ahead of itself: the hardware
// prefetchers alone leave a one-query scan well under the memory bandwidth
// (kernels_bench BM_l2_sqr_rows/*/256MiB measures it).
inline constexpr size_t kScanPrefetchBytes = 4096;

// Asks for the cache line holding p, for reading, into every cache level.
inline void PrefetchLine(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  // Inline asm, not _mm_prefetch: GCC treats that as free of side effects
  // and deletes loops made only of it.
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 0, 3);
#endif
}

// Prefetches [p, p + bytes) as one run of cache lines (one run per block of
// rows, not a loop per row, which is far slower).
inline void PrefetchRange(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (size_t b = 0; b < bytes; b += kCacheLineBytes) PrefetchLine(c + b);
}

// Rows of row_bytes each to look ahead so that about kScanPrefetchBytes are
// in flight, rounded up to a multiple of `block` (a power of two).
inline size_t PrefetchRowsAhead(size_t row_bytes, size_t block) {
  const size_t ahead = (kScanPrefetchBytes + row_bytes - 1) / row_bytes;
  return (ahead + block - 1) & ~(block - 1);
}

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_PREFETCH_H_
