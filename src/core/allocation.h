#ifndef VINDEX_SRC_CORE_ALLOCATION_H_
#define VINDEX_SRC_CORE_ALLOCATION_H_

// Turns a failed allocation into absl::ResourceExhausted at the point where
// the caller can still leave its object as it was. (GuardedCall in
// call_guard.h is only the backstop for what escapes a whole call.)

#include <algorithm>
#include <cstddef>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace vindex::internal {

// ResourceExhausted "out of memory <what>" (what: "growing the index"), or
// "out of memory <what> <subject>" (subject: a path) when subject is given.
inline absl::Status OutOfMemoryError(absl::string_view what,
                                     absl::string_view subject = {}) {
  return absl::ResourceExhaustedError(
      subject.empty() ? absl::StrCat("out of memory ", what)
                      : absl::StrCat("out of memory ", what, " ", subject));
}

// Runs fn(), which returns void or absl::Status. A std::bad_alloc, or a
// std::length_error (a size no allocator can provide), becomes
// OutOfMemoryError(what, subject); fn must leave its objects as they were
// when it throws. Other exceptions pass through. The message is built only
// on failure, so the call itself allocates nothing.
template <typename Fn>
absl::Status TryAllocate(absl::string_view what, absl::string_view subject,
                         Fn&& fn) {
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Fn&&>>) {
      std::forward<Fn>(fn)();
      return absl::OkStatus();
    } else {
      return std::forward<Fn>(fn)();
    }
  } catch (const std::bad_alloc&) {
    return OutOfMemoryError(what, subject);
  } catch (const std::length_error&) {
    return OutOfMemoryError(what, subject);
  }
}

template <typename Fn>
absl::Status TryAllocate(absl::string_view what, Fn&& fn) {
  return TryAllocate(what, {}, std::forward<Fn>(fn));
}

// v.reserve(n); on failure v is unchanged.
template <typename T, typename Alloc>
absl::Status TryReserve(std::vector<T, Alloc>& v, size_t n,
                        absl::string_view what) {
  return TryAllocate(what, [&] { v.reserve(n); });
}

// v.resize(n); on failure v is unchanged.
template <typename T, typename Alloc>
absl::Status TryResize(std::vector<T, Alloc>& v, size_t n,
                       absl::string_view what) {
  return TryAllocate(what, [&] { v.resize(n); });
}

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

// ReserveSafely as a Status: on failure `table` is unchanged.
template <typename Table>
absl::Status TryReserveTable(Table& table, size_t n, absl::string_view what) {
  return TryAllocate(what, [&] { ReserveSafely(table, n); });
}

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_ALLOCATION_H_
