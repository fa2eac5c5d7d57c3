#ifndef VINDEX_SRC_INDEX_IVF_LIST_IO_H_
#define VINDEX_SRC_INDEX_IVF_LIST_IO_H_

// Saves and loads the inverted lists of an IVF index (section LSTA, laid out
// in io/format.h) and checks what a load read.

#include <cstdint>

#include "absl/status/status.h"
#include "core/id_map.h"
#include "index/ivf/inverted_lists.h"
#include "io/format.h"

namespace vindex::internal {

// Writes section LSTA.
absl::Status SaveLists(const InvertedLists& lists, io::ContainerWriter& w);

// Reads section LSTA into `lists` (nlist empty lists of the index's layout);
// the section is open with `left` payload bytes. Every length is checked
// against what the section holds before an array is viewed or allocated.
// Adds the entries read to *seen.
absl::Status LoadListsAligned(io::ContainerReader& r, uint64_t left,
                              InvertedLists* lists, uint64_t* seen);

// Checks the loaded ids (none -1, no repeats; fills *where with each id's
// packed ListLocation) and vectors (finite).
absl::Status CheckListContents(const InvertedLists& lists,
                               IdMap<uint64_t>* where);

}  // namespace vindex::internal

#endif  // VINDEX_SRC_INDEX_IVF_LIST_IO_H_
