#include "arrays.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "errors.h"

namespace py = pybind11;

namespace vindex::python {
namespace {

py::array AsArray(py::handle object) {
  if (py::isinstance<py::array>(object)) {
    return py::reinterpret_borrow<py::array>(object);
  }
  return py::module_::import("numpy").attr("asarray")(object);
}

std::string DtypeName(const py::array& array) {
  return py::str(array.dtype()).cast<std::string>();
}

void CheckNdim(const py::array& array, const char* what) {
  if (array.ndim() != 1 && array.ndim() != 2) {
    ThrowInvalidArgument(absl::StrCat(
        what, ": expected a 2-D array (rows, dim) or one 1-D vector, got ",
        array.ndim(), "-D shape ",
        py::str(py::tuple(array.attr("shape"))).cast<std::string>()));
  }
}

}  // namespace

FloatRows AsFloatRows(py::handle object, const char* what) {
  py::array array = AsArray(object);
  const char kind = array.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u') {
    ThrowTypeError(absl::StrCat(
        what,
        ": expected an array of float32 (or another real dtype), got dtype ",
        DtypeName(array)));
  }
  CheckNdim(array, what);
  const int64_t rows = array.ndim() == 2 ? array.shape(0) : 1;
  const int64_t cols = array.ndim() == 2 ? array.shape(1) : array.shape(0);
  const py::ssize_t col_stride =
      array.ndim() == 2 ? array.strides(1) : array.strides(0);
  const py::ssize_t row_stride =
      array.ndim() == 2 ? array.strides(0) : cols * sizeof(float);
  const bool in_place =
      array.dtype().is(py::dtype::of<float>()) &&
      (array.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) != 0 &&
      (col_stride == sizeof(float) || cols <= 1) && row_stride >= 0 &&
      row_stride % static_cast<py::ssize_t>(sizeof(float)) == 0 &&
      (row_stride >= cols * static_cast<py::ssize_t>(sizeof(float)) ||
       rows <= 1);
  FloatRows out;
  if (in_place) {
    out.owner = array;
    const int64_t stride =
        rows <= 1 ? cols : row_stride / static_cast<int64_t>(sizeof(float));
    out.view = MatrixView<const float>(static_cast<const float*>(array.data()),
                                       rows, cols, stride);
    return out;
  }
  auto dense =
      py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(
          array);
  if (!dense) throw py::error_already_set();
  out.owner = dense;
  out.copied = true;
  out.view = MatrixView<const float>(dense.data(), rows, cols);
  return out;
}

IdArray AsIds(py::handle object, const char* what) {
  py::array array = AsArray(object);
  const char kind = array.dtype().kind();
  if (kind != 'i' && kind != 'u') {
    ThrowTypeError(absl::StrCat(what,
                                ": expected an array of int64 ids (or another "
                                "integer dtype), got dtype ",
                                DtypeName(array)));
  }
  if (array.ndim() > 1) {
    ThrowInvalidArgument(absl::StrCat(
        what, ": expected a 1-D array of ids, got ", array.ndim(), "-D"));
  }
  auto dense =
      py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(
          array);
  if (!dense) throw py::error_already_set();
  IdArray out;
  out.owner = dense;
  out.span = absl::Span<const int64_t>(dense.data(), dense.size());
  return out;
}

IdRows AsIdRows(py::handle object, const char* what) {
  py::array array = AsArray(object);
  const char kind = array.dtype().kind();
  if (kind != 'i' && kind != 'u') {
    ThrowTypeError(absl::StrCat(what, ": expected an integer array, got dtype ",
                                DtypeName(array)));
  }
  CheckNdim(array, what);
  auto dense =
      py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(
          array);
  if (!dense) throw py::error_already_set();
  IdRows out;
  out.owner = dense;
  const int64_t rows = array.ndim() == 2 ? array.shape(0) : 1;
  const int64_t cols = array.ndim() == 2 ? array.shape(1) : array.shape(0);
  out.view = MatrixView<const int64_t>(dense.data(), rows, cols);
  return out;
}

}  // namespace vindex::python
