#ifndef VINDEX_SRC_CORE_ID_SLOT_MAP_H_
#define VINDEX_SRC_CORE_ID_SLOT_MAP_H_

// Forwards to core/id_map.h, the home of IdSlotMap; include that instead.
#include "core/id_map.h"  // IWYU pragma: export

#endif  // VINDEX_SRC_CORE_ID_SLOT_MAP_H_
