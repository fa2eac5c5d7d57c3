#include "core/row_mask.h"

#include <bit>

namespace vindex::internal {

int64_t RowMask::Count() const {
  int64_t c = 0;
  for (uint64_t w : words_) c += std::popcount(w);
  return c;
}

}  // namespace vindex::internal
