// vindex.tune, vindex.exact_neighbors and vindex.recall_at_k.

#include "vindex/tune.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arrays.h"
#include "errors.h"
#include "module_parts.h"
#include "options.h"
#include "py_index.h"
#include "threads.h"

namespace py = pybind11;

namespace vindex::python {
namespace {

py::dict SearchKwargs(const SearchParams& p) {
  py::dict d;
  d["nprobe"] = p.nprobe;
  d["ef"] = p.ef;
  d["rerank_factor"] = p.rerank_factor;
  return d;
}

TuneResult Tune(const PyIndex& index, py::handle queries, int k,
                double target_recall, py::handle groundtruth, py::handle base,
                py::handle base_ids, int max_knob, double min_seconds_per_point,
                py::handle threads) {
  FloatRows q = AsFloatRows(queries, "queries");
  TuneOptions options;
  options.k = k;
  options.target_recall = target_recall;
  options.max_knob = max_knob;
  options.min_seconds_per_point = min_seconds_per_point;
  std::optional<IdRows> truth;
  std::optional<FloatRows> base_rows;
  std::optional<IdArray> ids;
  if (!groundtruth.is_none()) {
    truth = AsIdRows(groundtruth, "groundtruth");
    options.groundtruth = truth->view;
  }
  if (!base.is_none()) {
    base_rows = AsFloatRows(base, "base");
    options.base = base_rows->view;
  }
  if (!base_ids.is_none()) {
    ids = AsIds(base_ids, "base_ids");
    options.base_ids = ids->span;
  }
  ExecutorArg executor(threads);
  absl::StatusOr<TuneResult> result;
  {
    py::gil_scoped_release release;
    result = vindex::Tune(*index.index, q.view, options, executor.get());
  }
  ThrowIfError(result.status());
  return *std::move(result);
}

py::array_t<int64_t> ExactNeighborsPy(py::handle base, py::handle queries,
                                      int k, std::string_view metric,
                                      py::handle base_ids, py::handle threads) {
  FloatRows b = AsFloatRows(base, "base");
  FloatRows q = AsFloatRows(queries, "queries");
  const Metric parsed = ParseMetric(metric);
  std::optional<IdArray> ids;
  absl::Span<const int64_t> id_span;
  if (!base_ids.is_none()) {
    ids = AsIds(base_ids, "base_ids");
    id_span = ids->span;
  }
  ExecutorArg executor(threads);
  absl::StatusOr<Matrix<int64_t>> result;
  {
    py::gil_scoped_release release;
    result = ExactNeighbors(b.view, id_span, q.view, k, parsed, executor.get());
  }
  ThrowIfError(result.status());
  py::array_t<int64_t> out({result->rows, result->cols});
  std::copy(result->data.begin(), result->data.end(), out.mutable_data());
  return out;
}

double RecallAtKPy(py::handle truth, py::handle found, int k) {
  IdRows t = AsIdRows(truth, "truth");
  IdRows f = AsIdRows(found, "found");
  if (k < 1 || t.view.cols < k || f.view.cols < k ||
      t.view.rows != f.view.rows) {
    ThrowInvalidArgument(
        absl::StrCat("recall_at_k: need k >= 1 and two arrays of the same rows "
                     "with at least k columns; got k=",
                     k, ", truth ", t.view.rows, "x", t.view.cols, ", found ",
                     f.view.rows, "x", f.view.cols));
  }
  return RecallAtK(t.view, f.view, k);
}

}  // namespace

void RegisterTune(py::module_& m) {
  py::class_<TunePoint>(m, "TunePoint", "One setting tune() tried.")
      .def_property_readonly("k", [](const TunePoint& p) { return p.params.k; })
      .def_property_readonly("nprobe",
                             [](const TunePoint& p) { return p.params.nprobe; })
      .def_property_readonly("ef",
                             [](const TunePoint& p) { return p.params.ef; })
      .def_property_readonly(
          "rerank_factor",
          [](const TunePoint& p) { return p.params.rerank_factor; })
      .def_property_readonly(
          "search_kwargs",
          [](const TunePoint& p) { return SearchKwargs(p.params); },
          "The knobs as keywords: index.search(q, k, **point.search_kwargs).")
      .def_readonly("recall", &TunePoint::recall,
                    "Mean recall@k on the sample.")
      .def_readonly("qps", &TunePoint::qps,
                    "Queries per second (batch search).")
      .def("__repr__", [](const TunePoint& p) {
        return absl::StrCat("TunePoint(k=", p.params.k,
                            ", nprobe=", p.params.nprobe, ", ef=", p.params.ef,
                            ", rerank_factor=", p.params.rerank_factor,
                            ", recall=", p.recall, ", qps=", p.qps, ")");
      });
  py::class_<TuneResult>(m, "TuneResult", "What tune() found.")
      .def_readonly("best", &TuneResult::best,
                    "The cheapest point reaching the target (or the best "
                    "recall when none did).")
      .def_readonly("reached", &TuneResult::reached,
                    "Whether the target recall was reached.")
      .def_readonly("tried", &TuneResult::tried,
                    "Every point measured, in order.")
      .def("__repr__", [](const TuneResult& r) {
        return absl::StrCat(
            "TuneResult(reached=", r.reached ? "True" : "False",
            ", best=", py::repr(py::cast(r.best)).cast<std::string>(),
            ", tried=", r.tried.size(), " points)");
      });

  m.def("tune", &Tune, py::arg("index"), py::arg("queries"), py::kw_only(),
        py::arg("k") = 10, py::arg("target_recall") = 0.95,
        py::arg("groundtruth") = py::none(), py::arg("base") = py::none(),
        py::arg("base_ids") = py::none(), py::arg("max_knob") = 0,
        py::arg("min_seconds_per_point") = 0.05,
        py::arg("threads") = py::none(), R"doc(
Finds the cheapest knobs (nprobe for IVF, ef for HNSW, and rerank_factor for
IVF-PQ built with ",Rerank") reaching target_recall (mean recall@k) on a
sample of queries. The true neighbours come from groundtruth (rows of ids,
best first) or, without it, are computed exactly from base (the vectors the
index holds, ids base_ids or 0..n-1). Speed is measured on threads=.
Returns a TuneResult; use index.search(q, k, **result.best.search_kwargs).
)doc");
  m.def("exact_neighbors", &ExactNeighborsPy, py::arg("base"),
        py::arg("queries"), py::arg("k"), py::arg("metric") = "l2",
        py::kw_only(), py::arg("base_ids") = py::none(),
        py::arg("threads") = py::none(),
        "The exact k nearest base rows of each query (ids from base_ids, "
        "or row numbers): an (n, k) int64 array.");
  m.def("recall_at_k", &RecallAtKPy, py::arg("truth"), py::arg("found"),
        py::arg("k"),
        "Mean over rows of |found[i, :k] & truth[i, :k]| / k (ids -1 in "
        "truth ignored).");
}

}  // namespace vindex::python
