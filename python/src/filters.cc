#include "filters.h"

#include <atomic>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "arrays.h"
#include "errors.h"

namespace py = pybind11;

namespace vindex::python {

struct FilterForCall::PredicateState {
  py::handle callable;  // Borrowed: keep_alive_ owns it.
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::optional<py::error_already_set> error;  // Touched with the GIL held.
};

FilterForCall::FilterForCall(py::handle filter) {
  if (filter.is_none()) return;
  py::object callable;
  if (py::isinstance<PyIdFilter>(filter)) {
    const auto& f = filter.cast<const PyIdFilter&>();
    if (f.fixed) {
      keep_alive_ = py::reinterpret_borrow<py::object>(filter);
      filter_ = f.fixed;
      return;
    }
    callable = f.predicate;
  } else if (PyCallable_Check(filter.ptr())) {
    callable = py::reinterpret_borrow<py::object>(filter);
  } else {
    ThrowTypeError(absl::StrCat(
        "filter: expected None, a vindex.IdFilter or a callable, got ",
        py::str(py::type::of(filter).attr("__name__")).cast<std::string>()));
  }
  keep_alive_ = callable;
  state_ = std::make_shared<PredicateState>();
  state_->callable = callable;
  filter_ = std::make_shared<const IdFilter>(
      IdFilter::Predicate([state = state_](int64_t id) -> bool {
        if (state->failed.load(std::memory_order_relaxed)) return false;
        py::gil_scoped_acquire gil;
        try {
          py::object result = state->callable(id);
          const int truth = PyObject_IsTrue(result.ptr());
          if (truth < 0) throw py::error_already_set();
          return truth == 1;
        } catch (py::error_already_set& e) {
          std::lock_guard<std::mutex> lock(state->mu);
          if (!state->failed.exchange(true)) state->error.emplace(std::move(e));
          return false;
        }
      }));
}

FilterForCall::~FilterForCall() = default;

void FilterForCall::RethrowIfFailed() {
  if (state_ && state_->failed.load()) {
    py::error_already_set error = std::move(*state_->error);
    state_->error.reset();
    throw error;
  }
}

void RegisterFilters(py::module_& m) {
  py::class_<PyIdFilter>(m, "IdFilter", R"doc(
Restricts a search to some ids: pass one as ``Index.search(..., filter=f)``.

Build one with a factory: ``IdFilter.allow_list(ids)``,
``IdFilter.deny_list(ids)``, ``IdFilter.range(begin, end)`` or
``IdFilter.predicate(fn)``. A filter never changes what is stored, only what
may be returned, and one filter may be shared by concurrent searches.
)doc")
      .def_static(
          "allow_list",
          [](py::handle ids) {
            IdArray a = AsIds(ids, "ids");
            return PyIdFilter{
                std::make_shared<const IdFilter>(IdFilter::AllowList(a.span)),
                py::none(), "allow_list"};
          },
          py::arg("ids"), "Only these ids (an integer array) may be returned.")
      .def_static(
          "deny_list",
          [](py::handle ids) {
            IdArray a = AsIds(ids, "ids");
            return PyIdFilter{
                std::make_shared<const IdFilter>(IdFilter::DenyList(a.span)),
                py::none(), "deny_list"};
          },
          py::arg("ids"),
          "Every id except these (an integer array) may be returned.")
      .def_static(
          "range",
          [](int64_t begin, int64_t end) {
            return PyIdFilter{
                std::make_shared<const IdFilter>(IdFilter::Range(begin, end)),
                py::none(), "range"};
          },
          py::arg("begin"), py::arg("end"),
          "Ids in [begin, end) may be returned; an empty range allows none.")
      .def_static(
          "predicate",
          [](py::function fn) {
            return PyIdFilter{nullptr, fn, "predicate"};
          },
          py::arg("fn"), R"doc(
Ids for which ``fn(id)`` is true may be returned. Slow: ``fn`` is called with
the GIL held, up to once per stored vector per search. An exception raised by
``fn`` ends its calls and is raised by the search. Prefer the other factories.
)doc")
      .def_property_readonly(
          "kind", [](const PyIdFilter& f) { return std::string(f.kind); },
          "'allow_list', 'deny_list', 'range' or 'predicate'.")
      .def(
          "__call__",
          [](const PyIdFilter& f, int64_t id) -> bool {
            if (f.fixed) return f.fixed->Allows(id);
            return PyObject_IsTrue(f.predicate(id).ptr()) == 1;
          },
          py::arg("id"), "Whether the filter allows `id`.")
      .def("__repr__", [](const PyIdFilter& f) {
        if (f.fixed && f.fixed->kind() == IdFilter::Kind::kRange) {
          return absl::StrCat("vindex.IdFilter.range(", f.fixed->range_begin(),
                              ", ", f.fixed->range_end(), ")");
        }
        if (f.fixed) {
          return absl::StrCat("<vindex.IdFilter.", f.kind, " of ",
                              f.fixed->listed_ids().size(), " ids>");
        }
        return absl::StrCat("<vindex.IdFilter.predicate ",
                            py::repr(f.predicate).cast<std::string>(), ">");
      });
}

}  // namespace vindex::python
