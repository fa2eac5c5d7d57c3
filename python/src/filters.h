#ifndef VINDEX_PYTHON_FILTERS_H_
#define VINDEX_PYTHON_FILTERS_H_

// vindex.IdFilter: allow-list, deny-list, id range or Python predicate.

#include <pybind11/pybind11.h>

#include <memory>
#include <optional>

#include "vindex/filter.h"

namespace vindex::python {

// What the Python class holds: a ready C++ filter, or a Python callable that
// becomes a predicate filter for each search (see FilterForCall).
struct PyIdFilter {
  std::shared_ptr<const IdFilter> fixed;
  pybind11::object predicate;  // Set for IdFilter.predicate.
  const char* kind = "";
};

// The filter for one search call, built with the GIL held. A Python
// predicate takes the GIL on every call; the first exception it raises stops
// further calls (they return "not allowed") and is re-raised by
// RethrowIfFailed once the search has returned.
class FilterForCall {
 public:
  // `filter`: None, a vindex.IdFilter or a callable taking an id.
  explicit FilterForCall(pybind11::handle filter);
  ~FilterForCall();
  const IdFilter* get() const { return filter_ ? filter_.get() : nullptr; }
  void RethrowIfFailed();  // GIL held.

 private:
  struct PredicateState;
  pybind11::object keep_alive_;
  std::shared_ptr<PredicateState> state_;
  std::shared_ptr<const IdFilter> filter_;
};

void RegisterFilters(pybind11::module_& m);

}  // namespace vindex::python

#endif  // VINDEX_PYTHON_FILTERS_H_
