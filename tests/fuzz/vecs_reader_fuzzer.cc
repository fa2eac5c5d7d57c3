// libFuzzer target: the TEXMEX readers (.fvecs, .bvecs, .ivecs) over
// arbitrary bytes must never crash, hang or leak, and what they accept must
// be a consistent matrix. The first input byte picks the reader and a row
// limit; the rest is the file. (.fvecs values are passed through as stored,
// NaN included, so finiteness is not checked here.)
#include <cstddef>
#include <cstdint>

#include "fuzz_input_file.h"
#include "read_matrix_checks.h"
#include "vindex/vector_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static vindex_fuzz::FuzzInputFile file;
  const std::string& path = file.Write(data + 1, size - 1);
  const vindex::VectorReadOptions options{.max_rows = data[0] >> 2};
  switch (data[0] & 3) {
    case 0:
      vindex_fuzz::CheckReadMatrix(vindex::ReadFvecs(path, options),
                                   options.max_rows, /*finite=*/false);
      break;
    case 1:
      vindex_fuzz::CheckReadMatrix(vindex::ReadBvecs(path, options),
                                   options.max_rows, /*finite=*/true);
      break;
    default:
      vindex_fuzz::CheckReadMatrix(vindex::ReadIvecs(path, options),
                                   options.max_rows, /*finite=*/false);
      break;
  }
  return 0;
}
