#ifndef VINDEX_SRC_IO_NPY_HEADER_H_
#define VINDEX_SRC_IO_NPY_HEADER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vindex::io {

// The dictionary in a .npy file's header. numpy writes it as a Python
// literal and reads it back as one, so it is parsed as a literal here, not
// searched as text: a key nested in another value is not the key itself.
struct NpyHeaderDict {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Parses `text` (the header after the preamble, padding included). Accepts
// what numpy accepts: one dict literal (trailing commas, any whitespace, a
// repeated key keeps its last value) with exactly the keys 'descr' (a
// string), 'fortran_order' (True or False) and 'shape' (a tuple of
// non-negative ints; a Python 2 'L' suffix is allowed). Anything else is
// InvalidArgument naming the problem.
absl::StatusOr<NpyHeaderDict> ParseNpyHeaderDict(std::string_view text);

}  // namespace vindex::io

#endif  // VINDEX_SRC_IO_NPY_HEADER_H_
