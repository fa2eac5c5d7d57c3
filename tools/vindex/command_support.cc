// What several subcommands share: errors, common flags, inputs, building an
// index with progress, timing a batch search, formatting sizes.

#include "command_support.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "commands.h"
#include "inputs.h"
#include "progress.h"
#include "vindex/tune.h"
#include "vindex/vindex.h"

namespace vindex::cli {

int Fail(const char* command, const absl::Status& status) {
  std::fprintf(stderr, "vindex %s: %.*s\n", command,
               static_cast<int>(status.message().size()),
               status.message().data());
  return kExitRuntime;
}

int Fail(const char* command, const std::string& message) {
  std::fprintf(stderr, "vindex %s: %s\n", command, message.c_str());
  return kExitRuntime;
}

int Usage(UsageError* usage, std::string message) {
  usage->message = std::move(message);
  return kExitUsage;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

absl::Status WithPath(const absl::Status& s, const std::string& path) {
  if (s.ok()) return s;
  std::string msg(s.message());
  if (msg.find(path) != std::string::npos) return s;
  return absl::Status(s.code(), path + ": " + msg);
}

bool RequireFlags(const Args& args, std::initializer_list<const char*> names,
                  UsageError* usage) {
  for (const char* f : names) {
    if (!args.Has(f)) {
      Usage(usage, std::string("missing --") + f);
      return false;
    }
  }
  return true;
}

bool ReadMetric(const Args& args, Metric* metric, UsageError* usage) {
  const std::string name = args.Get("metric", "l2");
  if (name == "l2" || name == "L2") {
    *metric = Metric::kL2;
  } else if (name == "ip" || name == "inner_product") {
    *metric = Metric::kInnerProduct;
  } else if (name == "cosine") {
    *metric = Metric::kCosine;
  } else {
    Usage(usage, "--metric must be l2, ip or cosine, got '" +
                     args.Get("metric") + "'");
    return false;
  }
  return true;
}

int BadSpec(UsageError* usage, const std::string& spec,
            const absl::Status& status) {
  return Usage(usage,
               "bad --spec '" + spec + "': " + std::string(status.message()));
}

bool ReadSearchParams(const Args& args, SearchParams* params,
                      UsageError* usage) {
  long long k, nprobe, ef, rerank;
  if (!args.GetInt("k", 10, 1, 100000, &k, usage) ||
      !args.GetInt("nprobe", 0, 0, 1 << 24, &nprobe, usage) ||
      !args.GetInt("ef", 0, 0, 1 << 24, &ef, usage) ||
      !args.GetInt("rerank", 0, 0, 1 << 16, &rerank, usage)) {
    return false;
  }
  params->k = static_cast<int>(k);
  params->nprobe = static_cast<int>(nprobe);
  params->ef = static_cast<int>(ef);
  params->rerank_factor = static_cast<int>(rerank);
  return true;
}

bool ReadThreads(const Args& args, int* threads, UsageError* usage) {
  long long t;
  if (!args.GetInt("threads", 0, 0, 4096, &t, usage)) return false;
  *threads = t > 0 ? static_cast<int>(t)
                   : std::max(1u, std::thread::hardware_concurrency());
  return true;
}

bool ReadLimit(const Args& args, const std::string& name, int64_t* limit,
               UsageError* usage) {
  long long v;
  if (!args.GetInt(name, 0, 0, std::numeric_limits<int64_t>::max(), &v,
                   usage)) {
    return false;
  }
  *limit = v;
  return true;
}

absl::StatusOr<std::unique_ptr<Index>> OpenIndex(const std::string& path,
                                                 bool mmap) {
  auto index = LoadIndexFromFile(path, LoadOptions{.memory_map = mmap});
  if (!index.ok()) return WithPath(index.status(), path);
  return index;
}

absl::StatusOr<FloatMatrix> ReadQueries(const std::string& path, int dim,
                                        int64_t limit) {
  auto q = ReadVectorsFile(path, Role::kQueries, limit);
  if (!q.ok()) return q.status();
  if (q->cols != dim) {
    return absl::InvalidArgumentError(
        path + ": queries have dimension " + std::to_string(q->cols) +
        " but the index has " + std::to_string(dim));
  }
  if (q->rows == 0) return absl::InvalidArgumentError(path + ": no queries");
  return q;
}

absl::StatusOr<Matrix<int64_t>> GroundTruth(const Args& args, int64_t nq, int k,
                                            const FloatMatrix& queries,
                                            Metric metric, Executor* pool) {
  if (args.Has("groundtruth")) {
    const std::string path = args.Get("groundtruth");
    auto gt = ReadIntFile(path, Role::kGroundTruth, nq);
    if (!gt.ok()) return gt.status();
    if (gt->rows < nq) {
      return absl::InvalidArgumentError(
          path + ": ground truth has " + std::to_string(gt->rows) +
          " rows for " + std::to_string(nq) + " queries");
    }
    if (gt->cols < k) {
      return absl::InvalidArgumentError(
          path + ": ground truth has " + std::to_string(gt->cols) +
          " neighbours per query, fewer than --k " + std::to_string(k));
    }
    Matrix<int64_t> out;
    out.rows = nq;
    out.cols = gt->cols;
    out.data.assign(gt->data.begin(), gt->data.begin() + nq * gt->cols);
    return out;
  }
  const std::string path = args.Get("base");
  auto base = ReadVectorsFile(path, Role::kBase);
  if (!base.ok()) return base.status();
  if (base->cols != queries.cols) {
    return absl::InvalidArgumentError(
        path + ": base vectors have dimension " + std::to_string(base->cols) +
        " but the queries have " + std::to_string(queries.cols));
  }
  const double t0 = NowSeconds();
  auto truth =
      ExactNeighbors(base->view(), {}, queries.view(), k, metric, pool);
  if (!truth.ok()) return WithPath(truth.status(), path);
  std::fprintf(stderr,
               "computed exact ground truth over %" PRId64
               " base vectors in %.2f s\n",
               base->rows, NowSeconds() - t0);
  return truth;
}

bool CheckEvalFlags(const Args& args, UsageError* usage) {
  if (!RequireFlags(args, {"index", "queries"}, usage)) return false;
  if (args.Has("groundtruth") == args.Has("base")) {
    Usage(usage, "give exactly one of --groundtruth or --base");
    return false;
  }
  return true;
}

absl::StatusOr<EvalInputs> ReadEvalInputs(const Args& args, int k,
                                          int64_t limit, Executor* pool) {
  EvalInputs in;
  auto index = OpenIndex(args.Get("index"), args.Has("mmap"));
  if (!index.ok()) return index.status();
  in.index = std::move(*index);
  const IndexInfo info = in.index->info();
  auto queries = ReadQueries(args.Get("queries"), info.dim, limit);
  if (!queries.ok()) return queries.status();
  in.queries = std::move(*queries);
  auto truth =
      GroundTruth(args, in.queries.rows, k, in.queries, info.metric, pool);
  if (!truth.ok()) return truth.status();
  in.truth = std::move(*truth);
  return in;
}

std::string FormatBytes(double bytes) {
  char buf[32];
  if (bytes >= 1 << 30) {
    std::snprintf(buf, sizeof(buf), "%.2f GiB", bytes / (1 << 30));
  } else if (bytes >= 1 << 20) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", bytes / (1 << 20));
  } else if (bytes >= 1 << 10) {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", bytes / (1 << 10));
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f B", bytes);
  }
  return buf;
}

absl::StatusOr<Timed> TimedSearch(const Index& index,
                                  MatrixView<const float> queries,
                                  const SearchParams& params,
                                  std::vector<int64_t>* ids,
                                  std::vector<float>* distances, Executor* pool,
                                  double min_seconds) {
  ids->resize(queries.rows * params.k);
  distances->resize(queries.rows * params.k);
  SearchOutput out{{ids->data(), queries.rows, params.k},
                   {distances->data(), queries.rows, params.k}};
  int passes = 0;
  const double t0 = NowSeconds();
  double elapsed = 0;
  do {
    if (auto s = index.Search(queries, params, out, pool); !s.ok()) return s;
    ++passes;
    elapsed = NowSeconds() - t0;
  } while (elapsed < min_seconds);
  Timed t;
  t.seconds = elapsed / passes;
  t.qps = queries.rows * passes / std::max(elapsed, 1e-9);
  return t;
}

absl::StatusOr<std::vector<int64_t>> ReadIds(const std::string& path,
                                             int64_t n) {
  auto m = ReadIntFile(path, Role::kIds);
  if (!m.ok()) return m.status();
  if (m->cols != 1) {
    return absl::InvalidArgumentError(
        path + ": ids must have one column, not " + std::to_string(m->cols));
  }
  if (m->rows < n) {
    return absl::InvalidArgumentError(path + ": " + std::to_string(m->rows) +
                                      " ids for " + std::to_string(n) +
                                      " vectors");
  }
  return std::vector<int64_t>(m->data.begin(), m->data.begin() + n);
}

absl::StatusOr<std::unique_ptr<Index>> BuildIndex(
    const std::string& spec, Metric metric, const FloatMatrix& base,
    const std::vector<int64_t>& ids, Executor* pool, double* build_seconds,
    bool* bad_spec) {
  // "Rot,<inner>": the inner index from its options, then the rotation.
  const bool rotated = spec.rfind("Rot,", 0) == 0;
  auto options = ParseIndexSpec(rotated ? spec.substr(4) : spec,
                                static_cast<int>(base.cols), metric);
  if (!options.ok()) {
    *bad_spec = true;
    return options.status();
  }
  // IVF training reports each k-means iteration to a progress bar.
  std::unique_ptr<Progress> training;
  auto report = [&training](int iteration, double) {
    if (training) training->Update(iteration);
  };
  int iterations = 0;
  IvfCommonOptions* ivf = nullptr;
  if (auto* o = std::get_if<IvfFlatOptions>(&*options)) ivf = &o->ivf;
  if (auto* o = std::get_if<IvfPqOptions>(&*options)) ivf = &o->ivf;
  if (ivf != nullptr) {
    ivf->kmeans_progress = report;
    iterations = ivf->kmeans_iterations;
  }
  auto index = MakeIndex(*options);
  if (index.ok() && rotated) index = MakeRotatedIndex(std::move(*index));
  if (!index.ok()) {
    *bad_spec = index.status().code() == absl::StatusCode::kInvalidArgument;
    return index.status();
  }
  const double t0 = NowSeconds();
  if ((*index)->capabilities().needs_training) {
    std::fprintf(stderr, "training %s on %" PRId64 " vectors...\n",
                 spec.c_str(), base.rows);
    if (iterations > 0) {
      training =
          std::make_unique<Progress>("k-means", iterations, "iterations");
    }
    if (auto s = (*index)->Train(base.view(), pool); !s.ok()) return s;
    if (training) training->Finish();
    std::fprintf(stderr, "trained in %.2f s\n", NowSeconds() - t0);
  }
  std::vector<int64_t> seq;
  const int64_t* id_data = ids.data();
  if (ids.empty()) {
    seq.resize(base.rows);
    for (int64_t i = 0; i < base.rows; ++i) seq[i] = i;
    id_data = seq.data();
  }
  const int64_t chunk = std::clamp<int64_t>(base.rows / 100, 1000, 100000);
  Progress progress("adding", base.rows, "vectors");
  for (int64_t start = 0; start < base.rows; start += chunk) {
    const int64_t n = std::min(chunk, base.rows - start);
    MatrixView<const float> part(base.row(start), n, base.cols);
    if (auto s = (*index)->Add(part, {id_data + start, static_cast<size_t>(n)},
                               pool);
        !s.ok()) {
      std::fprintf(stderr, "\n");
      return s;
    }
    progress.Update(start + n);
  }
  progress.Finish();
  *build_seconds = NowSeconds() - t0;
  return index;
}

}  // namespace vindex::cli
