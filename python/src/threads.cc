#include "threads.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "errors.h"

namespace py = pybind11;

namespace vindex::python {

ExecutorArg::ExecutorArg(py::handle threads) {
  if (threads.is_none()) return;
  if (py::isinstance<ThreadPool>(threads)) {
    shared_ = py::reinterpret_borrow<py::object>(threads);
    executor_ = threads.cast<ThreadPool*>();
    return;
  }
  if (py::isinstance<py::bool_>(threads) ||
      !py::isinstance<py::int_>(threads)) {
    ThrowTypeError(absl::StrCat(
        "threads: expected None, an int or a vindex.ThreadPool, got ",
        py::str(py::type::of(threads).attr("__name__")).cast<std::string>()));
  }
  const int n = threads.cast<int>();
  if (n == 1) return;
  per_call_ = std::make_unique<ThreadPool>(n);
  executor_ = per_call_.get();
}

void RegisterThreadPool(py::module_& m) {
  py::class_<ThreadPool>(m, "ThreadPool", R"doc(
A fixed pool of worker threads to pass as ``threads=`` to train, add, search
and tune, shared by as many calls (and Python threads) as you like.

``ThreadPool(n)`` runs work on n threads: the calling thread plus n - 1
workers started here and joined when the pool is garbage collected.
``n <= 0`` means one per CPU core. vindex starts no other threads.
)doc")
      .def(py::init<int>(), py::arg("num_threads") = 0)
      .def_property_readonly("num_threads", &ThreadPool::num_threads,
                             "How many tasks run at once (workers + caller).")
      .def("__repr__", [](const ThreadPool& pool) {
        return absl::StrCat("vindex.ThreadPool(", pool.num_threads(), ")");
      });
}

}  // namespace vindex::python
