#ifndef VINDEX_PYTHON_ARRAYS_H_
#define VINDEX_PYTHON_ARRAYS_H_

// numpy arrays in: views over the caller's memory when its layout allows,
// one conversion otherwise.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>

#include "absl/types/span.h"
#include "vindex/matrix_view.h"

namespace vindex::python {

// A float32 row-major view of an input matrix and the array that owns the
// memory (the caller's own array when no copy was needed). Keep the struct
// alive while the view is used.
struct FloatRows {
  pybind11::array owner;
  MatrixView<const float> view;
  bool copied = false;
};

// Views `object` as a matrix of float32 rows. A float32 array whose rows are
// contiguous (C order, or rows sliced from a wider one) is used in place;
// other real dtypes (float64, float16, integers) and layouts are converted
// once. A 1-D array is one row. Raises TypeError for a non-numeric dtype and
// vindex.InvalidArgumentError (a ValueError) for other than 1 or 2
// dimensions; `what` names the argument in the message.
FloatRows AsFloatRows(pybind11::handle object, const char* what);

// int64 ids: the caller's array when it is a contiguous int64 vector, else
// one conversion from any integer dtype. A scalar is one id. Raises TypeError
// for non-integer dtypes and InvalidArgumentError for 2-D and up.
struct IdArray {
  pybind11::array owner;
  absl::Span<const int64_t> span;
};
IdArray AsIds(pybind11::handle object, const char* what);

// int64 rows (e.g. ground truth from an int32 .ivecs file), converted once
// when needed. Same rules as AsFloatRows for integer dtypes.
struct IdRows {
  pybind11::array owner;
  MatrixView<const int64_t> view;
};
IdRows AsIdRows(pybind11::handle object, const char* what);

}  // namespace vindex::python

#endif  // VINDEX_PYTHON_ARRAYS_H_
