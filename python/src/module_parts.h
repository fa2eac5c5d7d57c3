#ifndef VINDEX_PYTHON_MODULE_PARTS_H_
#define VINDEX_PYTHON_MODULE_PARTS_H_

// Each file of the extension registers its part of vindex._vindex.

#include <pybind11/pybind11.h>

namespace vindex::python {

void RegisterIndex(pybind11::module_& m);  // index.cc
void RegisterTune(pybind11::module_& m);   // tune.cc

}  // namespace vindex::python

#endif  // VINDEX_PYTHON_MODULE_PARTS_H_
