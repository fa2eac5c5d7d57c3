// The extension module vindex._vindex; the package vindex re-exports it.

#include <pybind11/pybind11.h>

#include <string>

#include "absl/status/status.h"
#include "errors.h"
#include "filters.h"
#include "module_parts.h"
#include "options.h"
#include "threads.h"
#include "vindex/index.h"

namespace py = pybind11;

PYBIND11_MODULE(_vindex, m) {
  m.doc() = "vindex: vector retrieval (Flat, IVF-Flat, IVF-PQ, HNSW).";
  vindex::python::RegisterThreadPool(m);
  vindex::python::RegisterOptions(m);
  vindex::python::RegisterFilters(m);
  vindex::python::RegisterIndex(m);
  vindex::python::RegisterTune(m);
  m.def(
      "isa", [] { return std::string(vindex::ActiveIsaName()); },
      "The SIMD level the CPU kernels run at: 'scalar', 'avx2' or 'avx512' "
      "(capped by the environment variable VINDEX_ISA).");
  // For the tests of the Status -> exception table: raises what a Status with
  // this code and message becomes (file=True: in save or load).
  m.def(
      "_raise_for_status",
      [](int code, const std::string& message, bool file) {
        vindex::python::ThrowIfError(
            absl::Status(static_cast<absl::StatusCode>(code), message),
            file ? vindex::python::ErrorContext::kFile
                 : vindex::python::ErrorContext::kGeneral);
      },
      pybind11::arg("code"), pybind11::arg("message"),
      pybind11::arg("file") = false);
  m.def("cuda_device_count", &vindex::CudaDeviceCount,
        "GPUs usable by this process (0 in a build without CUDA).");
}
