#ifndef VINDEX_SRC_CORE_ABSL_COMPAT_H_
#define VINDEX_SRC_CORE_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace vindex::internal {

// Debian's Abseil (20220623) has its own string_view type; the public API
// uses std::string_view. This bridges the two for absl::StrCat and friends.
inline absl::string_view Sv(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_ABSL_COMPAT_H_
