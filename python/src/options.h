#ifndef VINDEX_PYTHON_OPTIONS_H_
#define VINDEX_PYTHON_OPTIONS_H_

// The option classes (FlatOptions, IvfFlatOptions, IvfPqOptions,
// HnswOptions) and the names enums take in Python.

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>

#include "vindex/options.h"

namespace vindex::python {

// "l2", "ip" (or "inner_product") or "cosine", any case; else
// InvalidArgumentError naming the value.
Metric ParseMetric(std::string_view name);
std::string MetricString(Metric metric);

// An IndexSpec from one of the option objects; TypeError for anything else.
IndexSpec SpecFromObject(pybind11::handle options);

void RegisterOptions(pybind11::module_& m);

}  // namespace vindex::python

#endif  // VINDEX_PYTHON_OPTIONS_H_
