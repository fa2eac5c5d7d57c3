#include "errors.h"

#include <pybind11/pybind11.h>

#include <string>

namespace py = pybind11;

namespace vindex::python {
namespace {

const char* ClassName(absl::StatusCode code, ErrorContext context) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
      return "InvalidArgumentError";
    case absl::StatusCode::kOutOfRange:
      return "OutOfRangeError";
    case absl::StatusCode::kNotFound:
      return context == ErrorContext::kFile ? "MissingFileError"
                                            : "NotFoundError";
    case absl::StatusCode::kPermissionDenied:
      return "PermissionDeniedError";
    case absl::StatusCode::kUnavailable:
      return "UnavailableError";
    case absl::StatusCode::kDataLoss:
      return "DataLossError";
    case absl::StatusCode::kResourceExhausted:
      return "ResourceExhaustedError";
    case absl::StatusCode::kFailedPrecondition:
      return "FailedPreconditionError";
    case absl::StatusCode::kUnimplemented:
      return "UnimplementedError";
    case absl::StatusCode::kInternal:
      return "InternalError";
    default:
      return "Error";
  }
}

[[noreturn]] void Raise(const char* class_name, std::string_view message,
                        std::string_view code) {
  py::object cls = py::module_::import("vindex._errors").attr(class_name);
  py::object error = cls(py::str(message.data(), message.size()));
  error.attr("code") = py::str(code.data(), code.size());
  PyErr_SetObject(cls.ptr(), error.ptr());
  throw py::error_already_set();
}

}  // namespace

void ThrowIfError(const absl::Status& status, ErrorContext context) {
  if (status.ok()) return;
  const std::string code = absl::StatusCodeToString(status.code());
  Raise(ClassName(status.code(), context), std::string(status.message()), code);
}

void ThrowInvalidArgument(std::string_view message) {
  Raise("InvalidArgumentError", message, "INVALID_ARGUMENT");
}

void ThrowTypeError(std::string_view message) {
  throw py::type_error(std::string(message));
}

}  // namespace vindex::python
