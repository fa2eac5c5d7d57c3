// The extension module vindex._vindex; the package vindex re-exports it.

#include <pybind11/pybind11.h>

#include <string>

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
      "The SIMD level the CPU kernels run at: 'scalar', 'avx2', 'avx512' or "
      "'neon' (capped by the environment variable VINDEX_ISA).");
  m.def("cuda_device_count", &vindex::CudaDeviceCount,
        "GPUs usable by this process (0 in a build without CUDA).");
}
