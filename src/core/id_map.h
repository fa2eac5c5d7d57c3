#ifndef VINDEX_SRC_CORE_ID_MAP_H_
#define VINDEX_SRC_CORE_ID_MAP_H_

// Caller id -> internal position maps: IdMap stores (id, value) pairs;
// IdSlotMap stores only 32-bit slots and reads ids from its owner's array.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/allocation.h"

namespace vindex::internal {

// Caller id -> Value (a row, or a packed list location); each id at most
// once. Growth goes through allocation.h, so a failed allocation leaves the
// map as it was (absl's own reserve does not).
// Thread safety: as for absl::flat_hash_map (const methods may run
// concurrently with each other, not with mutators).
template <typename Value>
class IdMap {
 public:
  IdMap() = default;
  // A map sized for n ids: n Inserts (without Erase) allocate nothing.
  // Throws std::bad_alloc when that table cannot be had.
  static IdMap SizedFor(size_t n) {
    IdMap m;
    m.map_ = Map(TableBucketsFor(n));
    return m;
  }

  // The value of `id`, or nullptr.
  const Value* Find(int64_t id) const {
    auto it = map_.find(id);
    return it == map_.end() ? nullptr : &it->second;
  }
  bool Contains(int64_t id) const { return map_.contains(id); }
  // Adds id -> value; false (and no change) if id is present. Allocates
  // only when the map has no room reserved.
  bool Insert(int64_t id, Value value) {
    return map_.try_emplace(id, value).second;
  }
  // Changes the value of an id that is present; never allocates.
  void Update(int64_t id, Value value) { map_.find(id)->second = value; }
  void Erase(int64_t id) { map_.erase(id); }
  // Removes every id (as absl's clear: a large table gives back its memory).
  void Clear() { map_.clear(); }
  // Room for n ids in all; a failed allocation throws and leaves the map as
  // it was.
  void Reserve(size_t n) { ReserveSafely(map_, n); }
  // Reserve as a Status: on failure ResourceExhausted "out of memory <what>"
  // and the map as it was.
  absl::Status TryReserve(size_t n, absl::string_view what) {
    return TryReserveTable(map_, n, what);
  }
  // Calls fn(id, value) for every id, in no particular order; fn must not
  // change the map.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [id, value] : map_) fn(id, value);
  }
  size_t size() const { return map_.size(); }
  // Bytes of the table (ids, values and control bytes).
  size_t bytes() const {
    return map_.capacity() * (sizeof(int64_t) + sizeof(Value) + 1);
  }

 private:
  using Map = absl::flat_hash_map<int64_t, Value>;
  Map map_;
};

// Caller id -> slot lookup that stores only the 32-bit slots: the id of a
// slot is read from the owner's id array (`ids`, indexed by slot), so a table
// entry costs 4 bytes instead of the 16 of an id -> slot pair.
//
// Contract: ids[slot] must hold the slot's id from Insert until Erase (the
// vector may reallocate in between; it is read through the pointer), and
// each id is in the map at most once.
// Thread safety: as for absl::flat_hash_set (const methods may run
// concurrently with each other, not with mutators).
class IdSlotMap {
 public:
  static constexpr uint32_t kNotFound = ~uint32_t{0};

  explicit IdSlotMap(const std::vector<int64_t>* ids)
      : set_(0, Hash{ids}, Eq{ids}) {}
  IdSlotMap(const IdSlotMap&) = delete;
  IdSlotMap& operator=(const IdSlotMap&) = delete;

  // The slot of `id`, or kNotFound.
  uint32_t Find(int64_t id) const {
    auto it = set_.find(id);
    return it == set_.end() ? kNotFound : *it;
  }
  bool Contains(int64_t id) const { return set_.contains(id); }
  // Adds ids[slot] -> slot; false (and no change) if that id is present.
  bool Insert(uint32_t slot) { return set_.insert(slot).second; }
  void Erase(int64_t id) { set_.erase(id); }
  // Room for n ids in all; a failed allocation leaves the map as it was.
  void Reserve(size_t n) { ReserveSafely(set_, n); }
  // Reserve as a Status (ResourceExhausted "out of memory <what>").
  absl::Status TryReserve(size_t n, absl::string_view what) {
    return TryReserveTable(set_, n, what);
  }
  // Replaces an empty map by one sized for n ids (n Inserts then allocate
  // nothing). Unlike Reserve, a failed allocation leaves the map usable.
  void ReserveEmpty(size_t n) {
    Set sized(TableBucketsFor(n), set_.hash_function(), set_.key_eq());
    set_.swap(sized);
  }
  size_t size() const { return set_.size(); }
  // Bytes of the table (slots and control bytes).
  size_t bytes() const { return set_.capacity() * (sizeof(uint32_t) + 1); }

 private:
  struct Hash {
    using is_transparent = void;
    const std::vector<int64_t>* ids;
    size_t operator()(uint32_t slot) const {
      return absl::Hash<int64_t>{}((*ids)[slot]);
    }
    size_t operator()(int64_t id) const { return absl::Hash<int64_t>{}(id); }
  };
  struct Eq {
    using is_transparent = void;
    const std::vector<int64_t>* ids;
    bool operator()(uint32_t a, uint32_t b) const {
      return (*ids)[a] == (*ids)[b];
    }
    bool operator()(uint32_t slot, int64_t id) const {
      return (*ids)[slot] == id;
    }
    bool operator()(int64_t id, uint32_t slot) const {
      return (*ids)[slot] == id;
    }
  };
  using Set = absl::flat_hash_set<uint32_t, Hash, Eq>;
  Set set_;
};

// InvalidArgument "id <id> is already in the index" for the first of `ids`
// that `map` (IdMap or IdSlotMap) holds.
template <typename Map>
absl::Status CheckIdsAbsent(const Map& map, absl::Span<const int64_t> ids) {
  for (int64_t id : ids) {
    if (map.Contains(id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("id ", id, " is already in the index"));
    }
  }
  return absl::OkStatus();
}

// NotFound "id <id> is not in the index" for the first of `ids` that `map`
// does not hold.
template <typename Map>
absl::Status CheckIdsPresent(const Map& map, absl::Span<const int64_t> ids) {
  for (int64_t id : ids) {
    if (!map.Contains(id)) {
      return absl::NotFoundError(
          absl::StrCat("id ", id, " is not in the index"));
    }
  }
  return absl::OkStatus();
}

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_ID_MAP_H_
