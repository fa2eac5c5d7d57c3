#ifndef VINDEX_SRC_CORE_HASH_BUCKETS_H_
#define VINDEX_SRC_CORE_HASH_BUCKETS_H_

// Forwards to core/allocation.h, the home of TableBucketsFor and
// ReserveSafely; include that instead.
#include "core/allocation.h"  // IWYU pragma: export

#endif  // VINDEX_SRC_CORE_HASH_BUCKETS_H_
