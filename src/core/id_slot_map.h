#ifndef VINDEX_SRC_CORE_ID_SLOT_MAP_H_
#define VINDEX_SRC_CORE_ID_SLOT_MAP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "core/hash_buckets.h"

namespace vindex::internal {

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

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_ID_SLOT_MAP_H_
