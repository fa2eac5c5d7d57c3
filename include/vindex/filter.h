#ifndef VINDEX_FILTER_H_
#define VINDEX_FILTER_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"

namespace vindex {

// A predicate on caller ids that restricts a search to the ids it allows.
// Build one with a factory: an allow-list, a deny-list, a half-open id range
// or a custom predicate. Indexes turn it into a row mask before searching, so
// a filter never changes which vectors exist, only which may be returned.
//
// Thread safety: an IdFilter is immutable after construction; one filter may
// be shared by concurrent searches. A custom predicate must itself be safe to
// call from several threads at once.
class IdFilter {
 public:
  enum class Kind { kAllowList, kDenyList, kRange, kPredicate };

  // Only ids in `ids` may be returned (duplicates are ignored).
  static IdFilter AllowList(absl::Span<const int64_t> ids);
  // Every id except those in `ids` may be returned.
  static IdFilter DenyList(absl::Span<const int64_t> ids);
  // Ids in [begin, end) may be returned; an empty range allows nothing.
  static IdFilter Range(int64_t begin, int64_t end);
  // Ids for which `allows(id)` is true may be returned. It may be called once
  // per stored vector per search, on the calling thread or on the search's
  // executor threads; keep it cheap.
  // If it throws, the search stops and returns Unknown with the exception's
  // message (ResourceExhausted for std::bad_alloc); the output is then
  // unspecified and the index unchanged.
  // It must not call methods of the index it filters: that index holds its
  // lock while the filter runs, and a nested call would deadlock behind a
  // waiting writer. Such nested Search, Add, Train, Remove, GetVectors or
  // Save calls return FailedPrecondition instead (info() is not checked and
  // must not be called either).
  static IdFilter Predicate(std::function<bool(int64_t)> allows);

  bool Allows(int64_t id) const;
  Kind kind() const { return kind_; }
  // For kAllowList / kDenyList: the listed ids.
  const absl::flat_hash_set<int64_t>& listed_ids() const { return *ids_; }
  int64_t range_begin() const { return begin_; }
  int64_t range_end() const { return end_; }

 private:
  IdFilter() = default;
  Kind kind_ = Kind::kPredicate;
  std::shared_ptr<const absl::flat_hash_set<int64_t>> ids_;
  int64_t begin_ = 0;
  int64_t end_ = 0;
  std::function<bool(int64_t)> predicate_;
};

}  // namespace vindex

#endif  // VINDEX_FILTER_H_
