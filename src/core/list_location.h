#ifndef VINDEX_SRC_CORE_LIST_LOCATION_H_
#define VINDEX_SRC_CORE_LIST_LOCATION_H_

// Where an entry sits in an IVF index's inverted lists, and its one packed
// 64-bit form (list in the high 32 bits, offset in the low 32).

#include <cstdint>

namespace vindex::internal {

// The id -> entry map and IVF-PQ's re-rank candidates hold the packed form.
// nlist is at most 2^30, so a packed location read as int64_t is never
// negative (never the -1 of a missing result).
struct ListLocation {
  uint32_t list = 0;
  uint32_t offset = 0;  // Entry position within the list.

  // list and offset must be in [0, 2^32).
  static constexpr ListLocation At(int64_t list, int64_t offset) {
    return {static_cast<uint32_t>(list), static_cast<uint32_t>(offset)};
  }

  constexpr uint64_t Pack() const { return uint64_t{list} << 32 | offset; }
  static constexpr ListLocation Unpack(uint64_t packed) {
    return {static_cast<uint32_t>(packed >> 32),
            static_cast<uint32_t>(packed & 0xffffffffu)};
  }
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_LIST_LOCATION_H_
