#include "options.h"

#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "errors.h"

namespace py = pybind11;

namespace vindex::python {
namespace {

Device ParseDevice(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(std::string(name));
  if (lower == "cpu") return Device::kCpu;
  if (lower == "gpu") return Device::kGpu;
  if (lower == "auto") return Device::kAuto;
  ThrowInvalidArgument(
      absl::StrCat("device: expected 'cpu', 'gpu' or 'auto', got '",
                   std::string(name), "'"));
}

HnswOptions::Traversal ParseTraversal(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(std::string(name));
  if (lower == "float") return HnswOptions::Traversal::kFloat;
  if (lower == "sq8") return HnswOptions::Traversal::kSq8;
  if (lower == "sq4") return HnswOptions::Traversal::kSq4;
  if (lower == "fp16") return HnswOptions::Traversal::kFp16;
  ThrowInvalidArgument(
      absl::StrCat("traversal: expected 'float', 'sq8', 'sq4' or 'fp16', got '",
                   std::string(name), "'"));
}

std::string TraversalString(HnswOptions::Traversal t) {
  switch (t) {
    case HnswOptions::Traversal::kSq8:
      return "sq8";
    case HnswOptions::Traversal::kSq4:
      return "sq4";
    case HnswOptions::Traversal::kFp16:
      return "fp16";
    default:
      return "float";
  }
}

// A Python k-means progress callback. The std::function holding it may be
// copied and destroyed on threads without the GIL, so the Python object sits
// behind a shared_ptr whose deleter takes the GIL.
struct ProgressCallback {
  std::shared_ptr<py::object> fn;
  void operator()(int iteration, double objective) const {
    py::gil_scoped_acquire gil;
    try {
      (*fn)(iteration, objective);
    } catch (py::error_already_set& e) {
      // Training cannot be stopped midway: report like any callback error
      // Python cannot propagate.
      e.discard_as_unraisable("vindex k-means progress callback");
    }
  }
};

KMeansProgress MakeProgress(py::object fn) {
  if (fn.is_none()) return nullptr;
  if (!PyCallable_Check(fn.ptr())) {
    ThrowTypeError(
        "kmeans_progress: expected a callable(iteration, objective) or None");
  }
  auto holder = std::shared_ptr<py::object>(
      new py::object(std::move(fn)), [](py::object* p) {
        if (!Py_IsInitialized()) return;  // Interpreter gone: leak it.
        py::gil_scoped_acquire gil;
        delete p;
      });
  return ProgressCallback{std::move(holder)};
}

py::object ProgressObject(const KMeansProgress& progress) {
  if (const auto* cb = progress.target<ProgressCallback>()) return *cb->fn;
  return py::none();
}

// The IvfCommonOptions of the keyword arguments both IVF classes take.
IvfCommonOptions IvfCommonFromArgs(int dim, std::string_view metric,
                                   std::string_view device, int nlist,
                                   int default_nprobe, int kmeans_iterations,
                                   int max_points_per_centroid, uint64_t seed,
                                   py::object kmeans_progress) {
  return IvfCommonOptions{
      .dim = dim,
      .metric = ParseMetric(metric),
      .device = ParseDevice(device),
      .nlist = nlist,
      .default_nprobe = default_nprobe,
      .kmeans_iterations = kmeans_iterations,
      .max_points_per_centroid = max_points_per_centroid,
      .seed = seed,
      .kmeans_progress = MakeProgress(std::move(kmeans_progress))};
}

// The struct holding the fields every family shares: the options class
// itself, or an IVF class's `ivf` member.
template <typename Options>
auto& Shared(Options& o) {
  if constexpr (requires { o.ivf; }) {
    return o.ivf;
  } else {
    return o;
  }
}

// Properties every option class shares.
template <typename Options>
void DefCommon(py::class_<Options>& cls) {
  cls.def_property(
         "dim", [](const Options& o) { return Shared(o).dim; },
         [](Options& o, int v) { Shared(o).dim = v; },
         "Vector dimension, >= 1.")
      .def_property(
          "metric",
          [](const Options& o) { return MetricString(Shared(o).metric); },
          [](Options& o, std::string_view v) {
            Shared(o).metric = ParseMetric(v);
          },
          "'l2' (squared Euclidean), 'ip' (inner product) or 'cosine'.")
      .def_property(
          "device",
          [](const Options& o) {
            return std::string(DeviceName(Shared(o).device));
          },
          [](Options& o, std::string_view v) {
            Shared(o).device = ParseDevice(v);
          },
          "'cpu', 'gpu' or 'auto' (the GPU when one is usable).");
}

// Properties of IvfCommonOptions, on the IVF option classes.
template <typename Options>
void DefIvfCommon(py::class_<Options>& cls) {
  cls.def_property(
         "nlist", [](const Options& o) { return o.ivf.nlist; },
         [](Options& o, int v) { o.ivf.nlist = v; },
         "Lists (k-means centroids).")
      .def_property(
          "default_nprobe",
          [](const Options& o) { return o.ivf.default_nprobe; },
          [](Options& o, int v) { o.ivf.default_nprobe = v; },
          "Lists scanned when search's nprobe is 0.")
      .def_property(
          "kmeans_iterations",
          [](const Options& o) { return o.ivf.kmeans_iterations; },
          [](Options& o, int v) { o.ivf.kmeans_iterations = v; })
      .def_property(
          "max_points_per_centroid",
          [](const Options& o) { return o.ivf.max_points_per_centroid; },
          [](Options& o, int v) { o.ivf.max_points_per_centroid = v; },
          "Training sample is capped at nlist * this.")
      .def_property(
          "seed", [](const Options& o) { return o.ivf.seed; },
          [](Options& o, uint64_t v) { o.ivf.seed = v; })
      .def_property(
          "kmeans_progress",
          [](const Options& o) {
            return ProgressObject(o.ivf.kmeans_progress);
          },
          [](Options& o, py::object fn) {
            o.ivf.kmeans_progress = MakeProgress(std::move(fn));
          },
          "None or fn(iteration, objective), called after each k-means "
          "iteration while training (with the GIL taken for the call).");
}

template <typename Options>
std::string Repr(const char* name, const Options& o, std::string extra) {
  return absl::StrCat("vindex.", name, "(dim=", Shared(o).dim, ", metric='",
                      MetricString(Shared(o).metric), "'", extra, ")");
}

}  // namespace

Metric ParseMetric(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(std::string(name));
  if (lower == "l2") return Metric::kL2;
  if (lower == "ip" || lower == "inner_product") return Metric::kInnerProduct;
  if (lower == "cosine") return Metric::kCosine;
  ThrowInvalidArgument(
      absl::StrCat("metric: expected 'l2', 'ip' or 'cosine', got '",
                   std::string(name), "'"));
}

std::string MetricString(Metric metric) {
  return std::string(MetricName(metric));
}

IndexSpec SpecFromObject(py::handle options) {
  if (py::isinstance<FlatOptions>(options)) return options.cast<FlatOptions>();
  if (py::isinstance<IvfFlatOptions>(options)) {
    return options.cast<IvfFlatOptions>();
  }
  if (py::isinstance<IvfPqOptions>(options)) {
    return options.cast<IvfPqOptions>();
  }
  if (py::isinstance<HnswOptions>(options)) return options.cast<HnswOptions>();
  ThrowTypeError(absl::StrCat(
      "expected a factory string or FlatOptions, IvfFlatOptions, IvfPqOptions "
      "or HnswOptions, got ",
      py::str(py::type::of(options).attr("__name__")).cast<std::string>()));
}

void RegisterOptions(py::module_& m) {
  py::class_<FlatOptions> flat(m, "FlatOptions",
                               "Exact search: every query is compared with "
                               "every stored vector.");
  flat.def(
      py::init([](int dim, std::string_view metric, std::string_view device) {
        FlatOptions o;
        o.dim = dim;
        o.metric = ParseMetric(metric);
        o.device = ParseDevice(device);
        return o;
      }),
      py::kw_only(), py::arg("dim") = 0, py::arg("metric") = "l2",
      py::arg("device") = "cpu");
  DefCommon(flat);
  flat.def("__repr__",
           [](const FlatOptions& o) { return Repr("FlatOptions", o, ""); });

  py::class_<IvfFlatOptions> ivf(
      m, "IvfFlatOptions",
      "Inverted file with exact vectors in each list: scan the nprobe "
      "closest of nlist lists per query.");
  {
    const IvfFlatOptions d;
    ivf.def(py::init([](int dim, std::string_view metric,
                        std::string_view device, int nlist, int default_nprobe,
                        int kmeans_iterations, int max_points_per_centroid,
                        uint64_t seed, py::object kmeans_progress) {
              IvfFlatOptions o;
              o.ivf = IvfCommonFromArgs(
                  dim, metric, device, nlist, default_nprobe, kmeans_iterations,
                  max_points_per_centroid, seed, std::move(kmeans_progress));
              return o;
            }),
            py::kw_only(), py::arg("dim") = 0, py::arg("metric") = "l2",
            py::arg("device") = "cpu", py::arg("nlist") = d.ivf.nlist,
            py::arg("default_nprobe") = d.ivf.default_nprobe,
            py::arg("kmeans_iterations") = d.ivf.kmeans_iterations,
            py::arg("max_points_per_centroid") = d.ivf.max_points_per_centroid,
            py::arg("seed") = d.ivf.seed,
            py::arg("kmeans_progress") = py::none());
  }
  DefCommon(ivf);
  DefIvfCommon(ivf);
  ivf.def("__repr__", [](const IvfFlatOptions& o) {
    return Repr("IvfFlatOptions", o,
                absl::StrCat(", nlist=", o.ivf.nlist,
                             ", default_nprobe=", o.ivf.default_nprobe));
  });

  py::class_<IvfPqOptions> pq(
      m, "IvfPqOptions",
      "Inverted file with product-quantized residuals (pq_m sub-quantizers "
      "of pq_bits bits), optionally re-ranked exactly from kept raw vectors.");
  {
    const IvfPqOptions d;
    pq.def(py::init([](int dim, std::string_view metric,
                       std::string_view device, int nlist, int pq_m,
                       int pq_bits, bool keep_raw_vectors, int default_nprobe,
                       int default_rerank_factor, int kmeans_iterations,
                       int max_points_per_centroid, int pq_training_points,
                       uint64_t seed, py::object kmeans_progress) {
             IvfPqOptions o;
             o.ivf = IvfCommonFromArgs(
                 dim, metric, device, nlist, default_nprobe, kmeans_iterations,
                 max_points_per_centroid, seed, std::move(kmeans_progress));
             o.pq_m = pq_m;
             o.pq_bits = pq_bits;
             o.keep_raw_vectors = keep_raw_vectors;
             o.default_rerank_factor = default_rerank_factor;
             o.pq_training_points = pq_training_points;
             return o;
           }),
           py::kw_only(), py::arg("dim") = 0, py::arg("metric") = "l2",
           py::arg("device") = "cpu", py::arg("nlist") = d.ivf.nlist,
           py::arg("pq_m") = d.pq_m, py::arg("pq_bits") = d.pq_bits,
           py::arg("keep_raw_vectors") = d.keep_raw_vectors,
           py::arg("default_nprobe") = d.ivf.default_nprobe,
           py::arg("default_rerank_factor") = d.default_rerank_factor,
           py::arg("kmeans_iterations") = d.ivf.kmeans_iterations,
           py::arg("max_points_per_centroid") = d.ivf.max_points_per_centroid,
           py::arg("pq_training_points") = d.pq_training_points,
           py::arg("seed") = d.ivf.seed,
           py::arg("kmeans_progress") = py::none());
  }
  DefCommon(pq);
  DefIvfCommon(pq);
  pq.def_readwrite("pq_m", &IvfPqOptions::pq_m,
                   "Sub-quantizers; must divide dim.")
      .def_readwrite("pq_bits", &IvfPqOptions::pq_bits,
                     "8 (lookup-table scan) or 4 (fast-scan).")
      .def_readwrite("keep_raw_vectors", &IvfPqOptions::keep_raw_vectors,
                     "Keep exact vectors for re-rank (dim * 4 bytes each).")
      .def_readwrite("default_rerank_factor",
                     &IvfPqOptions::default_rerank_factor)
      .def_readwrite("pq_training_points", &IvfPqOptions::pq_training_points)
      .def("__repr__", [](const IvfPqOptions& o) {
        return Repr("IvfPqOptions", o,
                    absl::StrCat(", nlist=", o.ivf.nlist, ", pq_m=", o.pq_m,
                                 ", pq_bits=", o.pq_bits, ", keep_raw_vectors=",
                                 o.keep_raw_vectors ? "True" : "False"));
      });

  py::class_<HnswOptions> hnsw(m, "HnswOptions",
                               "Hierarchical navigable small-world graph.");
  {
    const HnswOptions d;
    hnsw.def(
        py::init([](int dim, std::string_view metric, std::string_view device,
                    int hnsw_m, int ef_construction, int default_ef,
                    uint64_t seed, std::string_view traversal, float alpha) {
          HnswOptions o;
          o.dim = dim;
          o.metric = ParseMetric(metric);
          o.device = ParseDevice(device);
          o.m = hnsw_m;
          o.ef_construction = ef_construction;
          o.default_ef = default_ef;
          o.seed = seed;
          o.traversal = ParseTraversal(traversal);
          o.alpha = alpha;
          return o;
        }),
        py::kw_only(), py::arg("dim") = 0, py::arg("metric") = "l2",
        py::arg("device") = "cpu", py::arg("m") = d.m,
        py::arg("ef_construction") = d.ef_construction,
        py::arg("default_ef") = d.default_ef, py::arg("seed") = d.seed,
        py::arg("traversal") = "float", py::arg("alpha") = d.alpha);
  }
  DefCommon(hnsw);
  hnsw.def_readwrite("m", &HnswOptions::m,
                     "Links per node on upper levels (2 * m on level 0).")
      .def_readwrite("ef_construction", &HnswOptions::ef_construction)
      .def_readwrite("default_ef", &HnswOptions::default_ef,
                     "Candidate list size when search's ef is 0.")
      .def_readwrite("seed", &HnswOptions::seed)
      .def_property(
          "traversal",
          [](const HnswOptions& o) { return TraversalString(o.traversal); },
          [](HnswOptions& o, std::string_view v) {
            o.traversal = ParseTraversal(v);
          },
          "'float', 'sq8', 'sq4' or 'fp16': what the search walks before the "
          "exact re-rank.")
      .def_readwrite("alpha", &HnswOptions::alpha,
                     "In [1, 2]: above 1, a new node fills the links the "
                     "diversity heuristic leaves free (more links per node).")
      .def("__repr__", [](const HnswOptions& o) {
        return Repr(
            "HnswOptions", o,
            absl::StrCat(", m=", o.m, ", ef_construction=", o.ef_construction,
                         ", default_ef=", o.default_ef, ", traversal='",
                         TraversalString(o.traversal), "', alpha=", o.alpha));
      });
}

}  // namespace vindex::python
