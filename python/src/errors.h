#ifndef VINDEX_PYTHON_ERRORS_H_
#define VINDEX_PYTHON_ERRORS_H_

// absl::Status -> Python exception (the classes in vindex/_errors.py).

#include <string_view>

#include "absl/status/status.h"

namespace vindex::python {

// File operations report a missing path as FileNotFoundError rather than
// KeyError; everything else maps the same way in every call.
enum class ErrorContext { kGeneral, kFile };

// Raises the exception for `status` when it is not OK (as a pybind11
// error_already_set, so the GIL must be held). The message is kept as is.
void ThrowIfError(const absl::Status& status,
                  ErrorContext context = ErrorContext::kGeneral);

// Raises vindex.InvalidArgumentError(message) / TypeError(message) for
// problems the bindings find before calling the library.
[[noreturn]] void ThrowInvalidArgument(std::string_view message);
[[noreturn]] void ThrowTypeError(std::string_view message);

}  // namespace vindex::python

#endif  // VINDEX_PYTHON_ERRORS_H_
