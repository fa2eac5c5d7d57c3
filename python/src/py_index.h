#ifndef VINDEX_PYTHON_PY_INDEX_H_
#define VINDEX_PYTHON_PY_INDEX_H_

#include <memory>

#include "vindex/index.h"

namespace vindex::python {

// What a vindex.Index Python object holds: the C++ index it owns. Methods run
// with the GIL released around the library call; the call holds a reference
// to `self`, so the index outlives every call on it.
struct PyIndex {
  std::unique_ptr<Index> index;
};

}  // namespace vindex::python

#endif  // VINDEX_PYTHON_PY_INDEX_H_
