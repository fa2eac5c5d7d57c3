// libFuzzer target: the vindex tool's HDF5 reader over arbitrary bytes. The
// first input byte picks the float or int32 reader, the dataset name asked
// for and a row limit; the rest is the file. Malformed files reach the HDF5
// library's own parser, whose known crashes are listed in docs/fuzzing.md;
// hdf5_shape_fuzzer covers the reader's checks on valid files.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_temp_file.h"
#include "hdf5_file_spec.h"
#include "inputs.h"
#include "read_matrix_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static vindex_fuzz::FuzzTempFile file("input.hdf5");
  const std::string& path = file.Write(data + 1, size - 1);
  const std::string name = vindex_fuzz::kHdf5DatasetNames[(data[0] >> 1) & 3];
  const int64_t max_rows = data[0] >> 3;
  // Stored floats pass through as they are (NaN included), as with .fvecs.
  if (data[0] & 1) {
    vindex_fuzz::CheckReadMatrix(vindex::cli::ReadHdf5Int(path, name, max_rows),
                                 max_rows,
                                 /*finite=*/false);
  } else {
    vindex_fuzz::CheckReadMatrix(
        vindex::cli::ReadHdf5Float(path, name, max_rows), max_rows,
        /*finite=*/false);
  }
  return 0;
}
