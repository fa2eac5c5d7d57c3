#include "vindex/filter.h"

#include <utility>

#include "core/allocation.h"

namespace vindex {
namespace {

// The set of ids, sized by its constructor: a growing insert that runs out
// of memory would leave an absl table its destructor cannot free
// (core/allocation.h).
std::shared_ptr<const absl::flat_hash_set<int64_t>> IdSet(
    absl::Span<const int64_t> ids) {
  auto set = std::make_shared<absl::flat_hash_set<int64_t>>(
      internal::TableBucketsFor(ids.size()));
  for (int64_t id : ids) set->insert(id);
  return set;
}

}  // namespace

IdFilter IdFilter::AllowList(absl::Span<const int64_t> ids) {
  IdFilter f;
  f.kind_ = Kind::kAllowList;
  f.ids_ = IdSet(ids);
  return f;
}

IdFilter IdFilter::DenyList(absl::Span<const int64_t> ids) {
  IdFilter f;
  f.kind_ = Kind::kDenyList;
  f.ids_ = IdSet(ids);
  return f;
}

IdFilter IdFilter::Range(int64_t begin, int64_t end) {
  IdFilter f;
  f.kind_ = Kind::kRange;
  f.begin_ = begin;
  f.end_ = end;
  return f;
}

IdFilter IdFilter::Predicate(std::function<bool(int64_t)> allows) {
  IdFilter f;
  f.kind_ = Kind::kPredicate;
  f.predicate_ = std::move(allows);
  return f;
}

bool IdFilter::Allows(int64_t id) const {
  switch (kind_) {
    case Kind::kAllowList:
      return ids_->contains(id);
    case Kind::kDenyList:
      return !ids_->contains(id);
    case Kind::kRange:
      return id >= begin_ && id < end_;
    case Kind::kPredicate:
      return predicate_ ? predicate_(id) : true;
  }
  return false;
}

}  // namespace vindex
