#ifndef VINDEX_SRC_CORE_HASH_BUCKETS_H_
#define VINDEX_SRC_CORE_HASH_BUCKETS_H_

#include <algorithm>
#include <cstddef>

namespace vindex::internal {

// absl's hash tables are not exception-safe: when an allocation fails inside
// reserve() or a growing insert, the table is left claiming memory it does
// not own, and destroying it frees a bad pointer. A table sized by its
// constructor is safe (a constructor that throws leaves no object to
// destroy), so code that must survive bad_alloc builds a fresh table with
// TableBucketsFor(n) buckets: inserting n elements into it (without erasing)
// never allocates again.
inline size_t TableBucketsFor(size_t n) {
  // absl keeps a table at most 7/8 full.
  return n == 0 ? 0 : n + n / 7 + 1;
}

// Makes room in `table` for `n` elements in all without that hazard: a larger
// table is built and filled first, then swapped in, so a failed allocation
// throws with `table` as it was. Growth at least doubles (amortized O(1) per
// element); a table with room already is left alone.
template <typename Table>
void ReserveSafely(Table& table, size_t n) {
  if (n * 8 <= table.capacity() * 7) return;
  Table grown(TableBucketsFor(std::max(n, 2 * table.size())),
              table.hash_function(), table.key_eq());
  grown.insert(table.begin(), table.end());
  table.swap(grown);
}

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_HASH_BUCKETS_H_
