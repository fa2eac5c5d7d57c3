#ifndef VINDEX_PYTHON_THREADS_H_
#define VINDEX_PYTHON_THREADS_H_

// The `threads=` argument: None (the calling thread only), a count (a pool
// made for this call and joined before it returns) or a vindex.ThreadPool
// shared between calls.

#include <pybind11/pybind11.h>

#include <memory>

#include "vindex/executor.h"

namespace vindex::python {

// Resolves a threads= argument. Keep it alive for the whole call; get() is
// null for the calling thread only.
class ExecutorArg {
 public:
  explicit ExecutorArg(pybind11::handle threads);
  Executor* get() const { return executor_; }

 private:
  pybind11::object shared_;               // Keeps a shared pool alive.
  std::unique_ptr<ThreadPool> per_call_;  // Joined when the call ends.
  Executor* executor_ = nullptr;
};

void RegisterThreadPool(pybind11::module_& m);

}  // namespace vindex::python

#endif  // VINDEX_PYTHON_THREADS_H_
