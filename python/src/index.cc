// vindex.Index, vindex.load, vindex.IndexInfo and vindex.Capabilities.

#include "vindex/index.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arrays.h"
#include "errors.h"
#include "filters.h"
#include "module_parts.h"
#include "options.h"
#include "py_index.h"
#include "threads.h"
#include "vindex/io.h"

namespace py = pybind11;

namespace vindex::python {
namespace {

std::string FsPath(py::handle path) {
  return py::str(py::module_::import("os").attr("fspath")(path))
      .cast<std::string>();
}

PyIndex FromStatusOr(absl::StatusOr<std::unique_ptr<Index>> made,
                     ErrorContext context = ErrorContext::kGeneral) {
  ThrowIfError(made.status(), context);
  return PyIndex{*std::move(made)};
}

PyIndex LoadFromFile(py::handle path, bool mmap) {
  const std::string p = FsPath(path);
  LoadOptions options;
  options.memory_map = mmap;
  absl::StatusOr<std::unique_ptr<Index>> loaded;
  {
    py::gil_scoped_release release;
    loaded = LoadIndexFromFile(p, options);
  }
  return FromStatusOr(std::move(loaded), ErrorContext::kFile);
}

PyIndex FromBytes(std::string_view bytes) {
  absl::StatusOr<std::unique_ptr<Index>> loaded;
  {
    py::gil_scoped_release release;
    MemoryReader reader(bytes);
    loaded = LoadIndex(reader);
  }
  return FromStatusOr(std::move(loaded));
}

py::bytes ToBytes(const PyIndex& self) {
  std::string out;
  absl::Status status;
  {
    py::gil_scoped_release release;
    StringWriter writer(&out);
    status = self.index->Save(writer);
  }
  ThrowIfError(status);
  return py::bytes(out);
}

py::tuple Search(const PyIndex& self, py::handle queries, int k, int nprobe,
                 int ef, int rerank_factor, py::handle filter,
                 py::handle threads) {
  FloatRows q = AsFloatRows(queries, "queries");
  if (k < 1) ThrowInvalidArgument(absl::StrCat("k must be >= 1, got ", k));
  FilterForCall call_filter(filter);
  ExecutorArg executor(threads);
  const int64_t n = q.view.rows;
  py::array_t<float> distances({n, static_cast<int64_t>(k)});
  py::array_t<int64_t> ids({n, static_cast<int64_t>(k)});
  SearchParams params;
  params.k = k;
  params.nprobe = nprobe;
  params.ef = ef;
  params.rerank_factor = rerank_factor;
  params.filter = call_filter.get();
  SearchOutput out{MatrixView<int64_t>(ids.mutable_data(), n, k),
                   MatrixView<float>(distances.mutable_data(), n, k)};
  absl::Status status;
  {
    py::gil_scoped_release release;
    status = self.index->Search(q.view, params, out, executor.get());
  }
  call_filter.RethrowIfFailed();
  ThrowIfError(status);
  return py::make_tuple(std::move(distances), std::move(ids));
}

void Add(PyIndex& self, py::handle vectors, py::handle ids,
         py::handle threads) {
  FloatRows x = AsFloatRows(vectors, "vectors");
  IdArray id_array;
  std::vector<int64_t> sequential;
  absl::Span<const int64_t> id_span;
  if (ids.is_none()) {
    const int64_t first = self.index->info().size;
    sequential.resize(x.view.rows);
    for (int64_t i = 0; i < x.view.rows; ++i) sequential[i] = first + i;
    id_span = sequential;
  } else {
    id_array = AsIds(ids, "ids");
    id_span = id_array.span;
  }
  ExecutorArg executor(threads);
  absl::Status status;
  {
    py::gil_scoped_release release;
    status = self.index->Add(x.view, id_span, executor.get());
  }
  ThrowIfError(status);
}

void Train(PyIndex& self, py::handle samples, py::handle threads) {
  FloatRows x = AsFloatRows(samples, "samples");
  ExecutorArg executor(threads);
  absl::Status status;
  {
    py::gil_scoped_release release;
    status = self.index->Train(x.view, executor.get());
  }
  ThrowIfError(status);
}

void Remove(PyIndex& self, py::handle ids) {
  IdArray id_array = AsIds(ids, "ids");
  absl::Status status;
  {
    py::gil_scoped_release release;
    status = self.index->Remove(id_array.span);
  }
  ThrowIfError(status);
}

py::array_t<float> GetVectors(const PyIndex& self, py::handle ids) {
  IdArray id_array = AsIds(ids, "ids");
  const int64_t n = static_cast<int64_t>(id_array.span.size());
  const int64_t dim = self.index->info().dim;
  py::array_t<float> out({n, dim});
  absl::Status status;
  {
    py::gil_scoped_release release;
    status = self.index->GetVectors(
        id_array.span, MatrixView<float>(out.mutable_data(), n, dim));
  }
  ThrowIfError(status);
  return out;
}

void Save(const PyIndex& self, py::handle path) {
  const std::string p = FsPath(path);
  absl::Status status;
  {
    py::gil_scoped_release release;
    status = SaveIndexToFile(*self.index, p);
  }
  ThrowIfError(status, ErrorContext::kFile);
}

std::string Repr(const PyIndex& self) {
  const IndexInfo info = self.index->info();
  return absl::StrCat("vindex.Index('", info.description, "', dim=", info.dim,
                      ", metric='", MetricString(info.metric),
                      "', size=", info.size, ")");
}

constexpr char kIndexDoc[] = R"doc(
A vector index: Flat, IVF-Flat, IVF-PQ or HNSW, on the CPU (or a GPU).

``Index(factory, dim, metric="l2")`` builds an empty index from a factory
string (``"Flat"``, ``"IVF1024,Flat"``, ``"IVF1024,PQ16[x4fs|x8][,Rerank]"``,
``"HNSW32"``); ``Index(options)`` from an option object (``FlatOptions``,
``IvfFlatOptions``, ``IvfPqOptions``, ``HnswOptions``).

Metrics: ``"l2"`` (search returns squared distances, ascending), ``"ip"``
(inner products, descending) and ``"cosine"`` (similarities, descending).

Arrays: vectors are float32 rows; a C-contiguous float32 array is read in
place, other real dtypes and layouts are converted once. Ids are int64.

Threads: the GIL is released while the library works, and every method may be
called from several Python threads at once (searches run in parallel;
train/add/remove are serialised). ``threads=None`` runs on the calling thread,
an int n on n threads for that call, a ``ThreadPool`` on its threads.

Errors raise vindex.Error subclasses (ValueError for bad input, KeyError for
unknown ids, OSError for files, MemoryError when memory runs out); a call that
fails leaves the index as it was.
)doc";

}  // namespace

void RegisterIndex(py::module_& m) {
  py::class_<IndexInfo>(m, "IndexInfo", "What an index is (Index.info).")
      .def_property_readonly(
          "family",
          [](const IndexInfo& i) {
            return std::string(IndexFamilyName(i.family));
          },
          "'Flat', 'IVF-Flat', 'IVF-PQ' or 'HNSW'.")
      .def_property_readonly(
          "device",
          [](const IndexInfo& i) { return std::string(DeviceName(i.device)); },
          "'cpu' or 'gpu'.")
      .def_property_readonly(
          "metric", [](const IndexInfo& i) { return MetricString(i.metric); },
          "'l2', 'ip' or 'cosine'.")
      .def_readonly("dim", &IndexInfo::dim)
      .def_readonly("size", &IndexInfo::size, "Vectors currently stored.")
      .def_readonly("trained", &IndexInfo::trained,
                    "Whether add may be called.")
      .def_readonly("memory_bytes", &IndexInfo::memory_bytes,
                    "Bytes held for vectors, codes, ids and graph (mapped "
                    "bytes included).")
      .def_readonly("memory_mapped", &IndexInfo::memory_mapped,
                    "Some sections are served from a file mapping.")
      .def_readonly("description", &IndexInfo::description,
                    "The factory string that rebuilds it.")
      .def("__repr__", [](const IndexInfo& i) -> std::string {
        return absl::StrCat(
            "IndexInfo(family='", std::string(IndexFamilyName(i.family)),
            "', device='", std::string(DeviceName(i.device)), "', metric='",
            MetricString(i.metric), "', dim=", i.dim, ", size=", i.size,
            ", trained=", i.trained ? "True" : "False",
            ", memory_bytes=", i.memory_bytes,
            ", memory_mapped=", i.memory_mapped ? "True" : "False",
            ", description='", i.description, "')");
      });

  py::class_<Capabilities>(
      m, "Capabilities",
      "Which optional operations an index supports (Index.capabilities).")
      .def_readonly("needs_training", &Capabilities::needs_training,
                    "train must succeed before add.")
      .def_readonly("remove", &Capabilities::remove, "remove works.")
      .def_readonly("get_vectors", &Capabilities::get_vectors,
                    "get_vectors works (exact vectors).")
      .def_readonly("filter", &Capabilities::filter, "search honours filter=.")
      .def_readonly("add_during_search", &Capabilities::add_during_search,
                    "add may run while searches run.")
      .def("__repr__", [](const Capabilities& c) {
        auto b = [](bool v) { return v ? "True" : "False"; };
        return absl::StrCat(
            "Capabilities(needs_training=", b(c.needs_training),
            ", remove=", b(c.remove), ", get_vectors=", b(c.get_vectors),
            ", filter=", b(c.filter),
            ", add_during_search=", b(c.add_during_search), ")");
      });

  py::class_<PyIndex>(m, "Index", kIndexDoc)
      .def(py::init(
               [](std::string_view factory, int dim, std::string_view metric) {
                 const Metric parsed = ParseMetric(metric);
                 return FromStatusOr(MakeIndex(factory, dim, parsed));
               }),
           py::arg("factory"), py::arg("dim"), py::arg("metric") = "l2",
           "An empty index from a factory string, e.g. Index('HNSW32', 128, "
           "'cosine').")
      .def(py::init([](py::handle options) {
             return FromStatusOr(MakeIndex(SpecFromObject(options)));
           }),
           py::arg("options"),
           "An empty index from an option object, e.g. "
           "Index(HnswOptions(dim=128, m=16)).")
      .def_property_readonly(
          "info", [](const PyIndex& self) { return self.index->info(); },
          "IndexInfo: family, device, metric, dim, size, trained, "
          "memory_bytes, memory_mapped, description.")
      .def_property_readonly(
          "capabilities",
          [](const PyIndex& self) { return self.index->capabilities(); },
          "Capabilities: which optional operations work.")
      .def_property_readonly(
          "dim", [](const PyIndex& self) { return self.index->info().dim; },
          "Vector dimension.")
      .def_property_readonly(
          "metric",
          [](const PyIndex& self) {
            return MetricString(self.index->info().metric);
          },
          "'l2', 'ip' or 'cosine'.")
      .def(
          "__len__",
          [](const PyIndex& self) { return self.index->info().size; },
          "Vectors currently stored.")
      .def("train", &Train, py::arg("samples"), py::kw_only(),
           py::arg("threads") = py::none(), R"doc(
Learns the quantizers from samples (rows, dim). Families without training
(Flat, HNSW) accept the call and do nothing. Retraining a non-empty index
raises FailedPreconditionError.
)doc")
      .def("add", &Add, py::arg("vectors"), py::arg("ids") = py::none(),
           py::kw_only(), py::arg("threads") = py::none(), R"doc(
Adds vectors (rows, dim) with int64 ids (any value but -1). Without ids the
rows get len(index), len(index) + 1, ...; pass ids yourself once you remove
vectors or add from several threads. Ids already present or repeated raise
InvalidArgumentError, and nothing is added.
)doc")
      .def("search", &Search, py::arg("queries"), py::arg("k") = 10,
           py::kw_only(), py::arg("nprobe") = 0, py::arg("ef") = 0,
           py::arg("rerank_factor") = 0, py::arg("filter") = py::none(),
           py::arg("threads") = py::none(), R"doc(
The k nearest stored vectors of each query row.

Returns (distances, ids): two new (n, k) arrays, float32 and int64, closest
first (ties: smaller id first). Missing results are id -1 with distance inf
(-inf for 'ip' and 'cosine'). Knobs (0 = the index's default; ignored by
families that do not use them): nprobe (IVF lists scanned), ef (HNSW
candidate list, raised to k), rerank_factor (IVF-PQ exact re-rank of
k * factor candidates; -1 for none). filter: an IdFilter or a callable
id -> bool (slow: it takes the GIL per call).
)doc")
      .def("remove", &Remove, py::arg("ids"),
           "Removes the vectors with these ids. Unknown ids raise "
           "NotFoundError (a KeyError) and remove nothing.")
      .def("get_vectors", &GetVectors, py::arg("ids"),
           "A new (len(ids), dim) float32 array of the stored vectors "
           "(normalised ones for cosine). Unknown ids raise NotFoundError.")
      .def("save", &Save, py::arg("path"),
           "Writes the index to path atomically (a temporary file renamed over "
           "it).")
      .def("serialize", &ToBytes,
           "The index in the vindex file format, as bytes (see "
           "vindex.deserialize).")
      .def("__repr__", &Repr)
      .def(py::pickle(
          [](const PyIndex& self) { return py::make_tuple(ToBytes(self)); },
          [](py::tuple state) {
            if (state.size() != 1)
              ThrowInvalidArgument("bad pickled vindex.Index state");
            return FromBytes(state[0].cast<std::string_view>());
          }));

  m.def("load", &LoadFromFile, py::arg("path"), py::arg("mmap") = false, R"doc(
Reads an index written by Index.save. With mmap=True the large sections are
served from a read-only mapping of the file (fast start, memory shared with
the page cache; add/remove then copy them first). A damaged file raises
DataLossError (an OSError), a missing one MissingFileError (a
FileNotFoundError).
)doc");
  m.def(
      "deserialize",
      [](py::bytes data) { return FromBytes(std::string_view(data)); },
      py::arg("data"),
      "An index from Index.serialize() bytes; damaged bytes raise "
      "DataLossError.");
}

}  // namespace vindex::python
