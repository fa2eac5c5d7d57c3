#ifndef VINDEX_VECTOR_FILES_H_
#define VINDEX_VECTOR_FILES_H_

// Readers and writers for the vector file formats datasets come in:
//
//   .fvecs / .ivecs / .bvecs  TEXMEX: per row an int32 dimension, then that
//                             many float32 / int32 / uint8 values.
//   .npy                      NumPy, version 1-3, 2-D, C order, little-endian
//                             float32 / float64 / uint8 (read as float) or
//                             int32 / int64 (read as int32).
//
// (ann-benchmarks HDF5 files are read by the `vindex` command-line tool when it
// is built with HDF5; the library itself does not depend on HDF5.)
//
// Files are untrusted input: every length is checked against the file size
// before anything is allocated, and every failure is an error naming the file
// and what is wrong with it (InvalidArgument for unsupported contents,
// DataLoss for truncated or inconsistent ones, NotFound for missing files).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vindex/matrix_view.h"

namespace vindex {

using FloatMatrix = Matrix<float>;
using Int32Matrix = Matrix<int32_t>;

struct VectorReadOptions {
  // Read at most this many rows from the start of the file (0 = all). The
  // whole file is still checked for a consistent size.
  int64_t max_rows = 0;
};

// Reads vectors as float from .fvecs, .bvecs or .npy, chosen by the file
// name's extension.
absl::StatusOr<FloatMatrix> ReadFloatVectors(
    const std::string& path, const VectorReadOptions& options = {});

// Reads integer rows (e.g. ground-truth neighbour ids) from .ivecs or .npy,
// chosen by the extension.
absl::StatusOr<Int32Matrix> ReadIntVectors(
    const std::string& path, const VectorReadOptions& options = {});

// Format-specific readers (no extension check).
absl::StatusOr<FloatMatrix> ReadFvecs(const std::string& path,
                                      const VectorReadOptions& options = {});
absl::StatusOr<FloatMatrix> ReadBvecs(const std::string& path,
                                      const VectorReadOptions& options = {});
absl::StatusOr<Int32Matrix> ReadIvecs(const std::string& path,
                                      const VectorReadOptions& options = {});
absl::StatusOr<FloatMatrix> ReadNpyFloat(const std::string& path,
                                         const VectorReadOptions& options = {});
absl::StatusOr<Int32Matrix> ReadNpyInt32(const std::string& path,
                                         const VectorReadOptions& options = {});

// The rows and dimension of a .fvecs, .bvecs or .npy float file, from its
// header and size alone (nothing else is read).
struct VectorFileShape {
  int64_t rows = 0;
  int dim = 0;
};
absl::StatusOr<VectorFileShape> ReadVectorFileShape(const std::string& path);

// Reads rows [first_row, first_row + rows) of a .fvecs, .bvecs or .npy float
// file as float, seeking to them: only those rows are read and checked (a
// TEXMEX row's dimension header, finite values), so cooperating processes
// can each read their own part of a large file. A range outside the file is
// InvalidArgument.
absl::StatusOr<FloatMatrix> ReadFloatVectorRows(const std::string& path,
                                                int64_t first_row,
                                                int64_t rows);

// Writers. Each replaces `path`; rows are written with the view's cols.
absl::Status WriteFvecs(const std::string& path, MatrixView<const float> m);
absl::Status WriteIvecs(const std::string& path, MatrixView<const int32_t> m);
absl::Status WriteNpy(const std::string& path, MatrixView<const float> m);
absl::Status WriteNpy(const std::string& path, MatrixView<const int32_t> m);

}  // namespace vindex

#endif  // VINDEX_VECTOR_FILES_H_
