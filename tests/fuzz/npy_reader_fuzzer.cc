// libFuzzer target: the .npy readers over arbitrary bytes must never crash,
// hang or leak, and what they accept must be a consistent matrix of finite
// values. The first input byte picks the float or int32 reader and a row
// limit; the rest is the file.
#include <cstddef>
#include <cstdint>

#include "fuzz_input_file.h"
#include "read_matrix_checks.h"
#include "vindex/vector_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static vindex_fuzz::FuzzInputFile file;
  const std::string& path = file.Write(data + 1, size - 1);
  const vindex::VectorReadOptions options{.max_rows = data[0] >> 1};
  if (data[0] & 1) {
    vindex_fuzz::CheckReadMatrix(vindex::ReadNpyInt32(path, options),
                                 options.max_rows, /*finite=*/true);
  } else {
    vindex_fuzz::CheckReadMatrix(vindex::ReadNpyFloat(path, options),
                                 options.max_rows, /*finite=*/true);
  }
  return 0;
}
