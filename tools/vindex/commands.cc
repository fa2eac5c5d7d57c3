// The subcommands of the vindex tool.

#include "commands.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "generate.h"
#include "inputs.h"
#include "io/inspect.h"
#include "plot.h"
#include "progress.h"
#include "vindex/tune.h"
#include "vindex/vector_files.h"
#include "vindex/vindex.h"

namespace vindex::cli {
namespace {

// ---- shared helpers --------------------------------------------------------

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

// Prefixes `path: ` unless the message already names it.
absl::Status WithPath(const absl::Status& s, const std::string& path) {
  if (s.ok()) return s;
  std::string msg(s.message());
  if (msg.find(path) != std::string::npos) return s;
  return absl::Status(s.code(), path + ": " + msg);
}

bool ParseMetric(const std::string& name, Metric* metric) {
  if (name == "l2" || name == "L2") {
    *metric = Metric::kL2;
  } else if (name == "ip" || name == "inner_product") {
    *metric = Metric::kInnerProduct;
  } else if (name == "cosine") {
    *metric = Metric::kCosine;
  } else {
    return false;
  }
  return true;
}

// Reads --k and the knobs into params.
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

// Ground truth for `nq` queries as int64 ids (nq x at least k), from a file
// or computed exactly over the base vectors.
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

// Batch search timed on the pool, repeated until `min_seconds` passed.
struct Timed {
  double qps = 0;
  double seconds = 0;  // One pass.
};
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

// Reads `path` as --ids: one int32 per row.
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

// Builds `spec` over `base`: train (when needed), then add in chunks with a
// progress line. `ids` may be empty (0..n-1).
absl::StatusOr<std::unique_ptr<Index>> BuildIndex(
    const std::string& spec, Metric metric, const FloatMatrix& base,
    const std::vector<int64_t>& ids, Executor* pool, double* build_seconds,
    bool* bad_spec) {
  auto options = ParseIndexSpec(spec, static_cast<int>(base.cols), metric);
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

// The knob values a sweep tries for this index.
std::vector<SearchParams> SweepPoints(const Index& index, int k,
                                      const SearchParams& fixed) {
  const IndexInfo info = index.info();
  std::vector<SearchParams> points;
  SearchParams p = fixed;
  p.k = k;
  if (info.family == IndexFamily::kIvfFlat ||
      info.family == IndexFamily::kIvfPq) {
    int nlist = 1;
    if (info.description.rfind("IVF", 0) == 0) {
      nlist = std::max(1, std::atoi(info.description.c_str() + 3));
    }
    for (int n = 1;; n *= 2) {
      p.nprobe = std::min(n, nlist);
      points.push_back(p);
      if (n >= nlist) break;
    }
  } else if (info.family == IndexFamily::kHnsw) {
    for (int ef : {10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768,
                   1024, 1536, 2048}) {
      if (ef < k) continue;
      p.ef = ef;
      points.push_back(p);
    }
  } else {
    points.push_back(p);
  }
  return points;
}

std::string KnobFlags(const Index& index, const SearchParams& p) {
  const IndexInfo info = index.info();
  std::string s;
  if (info.family == IndexFamily::kIvfFlat ||
      info.family == IndexFamily::kIvfPq) {
    s += " --nprobe " + std::to_string(p.nprobe);
    if (info.description.find(",Rerank") != std::string::npos &&
        p.rerank_factor > 0) {
      s += " --rerank " + std::to_string(p.rerank_factor);
    }
  } else if (info.family == IndexFamily::kHnsw) {
    s += " --ef " + std::to_string(p.ef);
  }
  return s;
}

// ---- build ---------------------------------------------------------------

int RunBuild(const Args& args, UsageError* usage) {
  for (const char* f : {"spec", "input", "out"}) {
    if (!args.Has(f)) return Usage(usage, std::string("missing --") + f);
  }
  Metric metric = Metric::kL2;
  if (!ParseMetric(args.Get("metric", "l2"), &metric)) {
    return Usage(usage, "--metric must be l2, ip or cosine, got '" +
                            args.Get("metric") + "'");
  }
  int threads;
  int64_t limit;
  if (!ReadThreads(args, &threads, usage) ||
      !ReadLimit(args, "limit", &limit, usage)) {
    return kExitUsage;
  }
  const std::string input = args.Get("input");
  const std::string spec = args.Get("spec");
  const std::string out = args.Get("out");
  double t0 = NowSeconds();
  auto base = ReadVectorsFile(input, Role::kBase, limit);
  if (!base.ok()) return Fail("build", base.status());
  if (base->rows == 0) return Fail("build", input + ": no vectors");
  std::fprintf(stderr,
               "read %" PRId64 " x %" PRId64 " vectors from %s in %.2f s\n",
               base->rows, base->cols, input.c_str(), NowSeconds() - t0);
  std::vector<int64_t> ids;
  if (args.Has("ids")) {
    auto read = ReadIds(args.Get("ids"), base->rows);
    if (!read.ok()) return Fail("build", read.status());
    ids = std::move(*read);
  }
  ThreadPool pool(threads);
  double seconds = 0;
  bool bad_spec = false;
  auto index = BuildIndex(spec, metric, *base, ids, &pool, &seconds, &bad_spec);
  if (!index.ok()) {
    if (bad_spec) {
      return Usage(usage, "bad --spec '" + spec +
                              "': " + std::string(index.status().message()));
    }
    return Fail("build", index.status());
  }
  t0 = NowSeconds();
  if (auto s = SaveIndexToFile(**index, out); !s.ok()) {
    return Fail("build", WithPath(s, out));
  }
  const IndexInfo info = (*index)->info();
  std::printf("built %s (%s, dim %d, %" PRId64
              " vectors) in %.2f s on %d threads; %s in memory; saved to %s in "
              "%.2f s\n",
              info.description.c_str(),
              std::string(MetricName(info.metric)).c_str(), info.dim, info.size,
              seconds, threads,
              FormatBytes(static_cast<double>(info.memory_bytes)).c_str(),
              out.c_str(), NowSeconds() - t0);
  return kExitOk;
}

// ---- search --------------------------------------------------------------

absl::Status WriteResults(const std::string& path, int64_t nq, int k,
                          const std::vector<int64_t>& ids,
                          const std::vector<float>& distances) {
  if (EndsWith(path, ".csv")) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
      return absl::InvalidArgumentError(path + ": cannot create");
    }
    std::fprintf(f, "query,rank,id,distance\n");
    for (int64_t q = 0; q < nq; ++q) {
      for (int r = 0; r < k; ++r) {
        const int64_t id = ids[q * k + r];
        if (id < 0) continue;
        std::fprintf(f, "%" PRId64 ",%d,%" PRId64 ",%.9g\n", q, r, id,
                     distances[q * k + r]);
      }
    }
    if (std::fclose(f) != 0) {
      return absl::UnavailableError(path + ": write failed");
    }
    return absl::OkStatus();
  }
  if (EndsWith(path, ".ivecs") || EndsWith(path, ".npy")) {
    std::vector<int32_t> narrow(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < std::numeric_limits<int32_t>::min() ||
          ids[i] > std::numeric_limits<int32_t>::max()) {
        return absl::InvalidArgumentError(
            path + ": id " + std::to_string(ids[i]) +
            " does not fit an int32 file; write .csv instead");
      }
      narrow[i] = static_cast<int32_t>(ids[i]);
    }
    MatrixView<const int32_t> m(narrow.data(), nq, k);
    return EndsWith(path, ".npy") ? WriteNpy(path, m) : WriteIvecs(path, m);
  }
  if (EndsWith(path, ".fvecs")) {
    return WriteFvecs(path, MatrixView<const float>(distances.data(), nq, k));
  }
  return absl::InvalidArgumentError(
      path +
      ": unknown output extension (use .ivecs, .npy, .csv, or .fvecs "
      "for distances)");
}

int RunSearch(const Args& args, UsageError* usage) {
  for (const char* f : {"index", "queries", "out"}) {
    if (!args.Has(f)) return Usage(usage, std::string("missing --") + f);
  }
  const std::string out = args.Get("out");
  if (!EndsWith(out, ".ivecs") && !EndsWith(out, ".csv") &&
      !EndsWith(out, ".npy") && !EndsWith(out, ".fvecs")) {
    return Usage(
        usage,
        "--out must end in .ivecs, .npy, .csv or .fvecs, got '" + out + "'");
  }
  SearchParams params;
  int threads;
  int64_t limit;
  if (!ReadSearchParams(args, &params, usage) ||
      !ReadThreads(args, &threads, usage) ||
      !ReadLimit(args, "limit", &limit, usage)) {
    return kExitUsage;
  }
  auto index = OpenIndex(args.Get("index"), args.Has("mmap"));
  if (!index.ok()) return Fail("search", index.status());
  auto queries = ReadQueries(args.Get("queries"), (*index)->info().dim, limit);
  if (!queries.ok()) return Fail("search", queries.status());
  ThreadPool pool(threads);
  std::vector<int64_t> ids;
  std::vector<float> distances;
  auto timed =
      TimedSearch(**index, queries->view(), params, &ids, &distances, &pool, 0);
  if (!timed.ok()) return Fail("search", timed.status());
  if (auto s = WriteResults(out, queries->rows, params.k, ids, distances);
      !s.ok()) {
    return Fail("search", s);
  }
  std::printf("searched %" PRId64
              " queries (k=%d, %s) in %.3f s: %.0f QPS on %d threads; wrote "
              "%s\n",
              queries->rows, params.k, KnobsString(**index, params).c_str(),
              timed->seconds, timed->qps, threads, out.c_str());
  return kExitOk;
}

// ---- eval ----------------------------------------------------------------

int RunEval(const Args& args, UsageError* usage) {
  for (const char* f : {"index", "queries"}) {
    if (!args.Has(f)) return Usage(usage, std::string("missing --") + f);
  }
  if (args.Has("groundtruth") == args.Has("base")) {
    return Usage(usage, "give exactly one of --groundtruth or --base");
  }
  SearchParams params;
  int threads;
  int64_t limit, latency_queries;
  if (!ReadSearchParams(args, &params, usage) ||
      !ReadThreads(args, &threads, usage) ||
      !ReadLimit(args, "limit", &limit, usage) ||
      !ReadLimit(args, "latency-queries", &latency_queries, usage)) {
    return kExitUsage;
  }
  if (!args.Has("latency-queries")) latency_queries = 1000;
  auto index = OpenIndex(args.Get("index"), args.Has("mmap"));
  if (!index.ok()) return Fail("eval", index.status());
  const IndexInfo info = (*index)->info();
  auto queries = ReadQueries(args.Get("queries"), info.dim, limit);
  if (!queries.ok()) return Fail("eval", queries.status());
  ThreadPool pool(threads);
  auto truth =
      GroundTruth(args, queries->rows, params.k, *queries, info.metric, &pool);
  if (!truth.ok()) return Fail("eval", truth.status());

  std::vector<int64_t> ids;
  std::vector<float> distances;
  auto timed = TimedSearch(**index, queries->view(), params, &ids, &distances,
                           &pool, 0.2);
  if (!timed.ok()) return Fail("eval", timed.status());
  const double recall = RecallAtK(
      truth->view(),
      MatrixView<const int64_t>(ids.data(), queries->rows, params.k), params.k);
  // Latency: one query per call on the calling thread.
  const int64_t nl = std::min<int64_t>(queries->rows, latency_queries);
  std::vector<double> lat(nl);
  std::vector<int64_t> one_id(params.k);
  std::vector<float> one_d(params.k);
  for (int64_t i = 0; i < nl; ++i) {
    const double t0 = NowSeconds();
    auto s = (*index)->Search(
        MatrixView<const float>(queries->row(i), 1, queries->cols), params,
        SearchOutput{{one_id.data(), 1, params.k}, {one_d.data(), 1, params.k}},
        nullptr);
    lat[i] = NowSeconds() - t0;
    if (!s.ok()) return Fail("eval", s);
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    if (lat.empty()) return 0.0;
    size_t i = static_cast<size_t>(std::ceil(p * lat.size())) - 1;
    return lat[std::min(i, lat.size() - 1)] * 1e3;
  };
  std::printf("index:      %s (%s, dim %d, %" PRId64 " vectors)\n",
              info.description.c_str(),
              std::string(MetricName(info.metric)).c_str(), info.dim,
              info.size);
  std::printf("params:     k=%d %s\n", params.k,
              KnobsString(**index, params).c_str());
  std::printf("queries:    %" PRId64 "\n", queries->rows);
  std::printf("recall@%d:  %.4f\n", params.k, recall);
  std::printf("QPS:        %.0f (batch, %d threads)\n", timed->qps, threads);
  double mean = 0;
  for (double l : lat) mean += l;
  mean = lat.empty() ? 0 : mean / lat.size() * 1e3;
  std::printf(
      "latency:    p50 %.3f ms, p99 %.3f ms, mean %.3f ms (one query "
      "per call, 1 thread, %" PRId64 " queries)\n",
      pct(0.50), pct(0.99), mean, nl);
  return kExitOk;
}

// ---- bench ---------------------------------------------------------------

// Re-rank factors `bench` sweeps (one curve each) on an index with Rerank.
const std::vector<int> kBenchRerankFactors = {2, 4, 16};

int RunBench(const Args& args, UsageError* usage) {
  for (const char* f : {"input", "queries", "spec"}) {
    if (!args.Has(f)) return Usage(usage, std::string("missing --") + f);
  }
  if (!args.Has("csv") && !args.Has("plot")) {
    return Usage(usage, "give --csv and/or --plot for the results");
  }
  Metric metric = Metric::kL2;
  if (!ParseMetric(args.Get("metric", "l2"), &metric)) {
    return Usage(usage, "--metric must be l2, ip or cosine, got '" +
                            args.Get("metric") + "'");
  }
  SearchParams fixed;
  int threads;
  int64_t limit = 0, query_limit = 0;
  if (!ReadSearchParams(args, &fixed, usage) ||
      !ReadThreads(args, &threads, usage) ||
      !ReadLimit(args, "limit", &limit, usage) ||
      !ReadLimit(args, "query-limit", &query_limit, usage)) {
    return kExitUsage;
  }
  const int k = fixed.k;
  const std::string input = args.Get("input");
  auto base = ReadVectorsFile(input, Role::kBase, limit);
  if (!base.ok()) return Fail("bench", base.status());
  if (base->rows == 0) return Fail("bench", input + ": no vectors");
  auto queries = ReadQueries(args.Get("queries"), static_cast<int>(base->cols),
                             query_limit);
  if (!queries.ok()) return Fail("bench", queries.status());
  ThreadPool pool(threads);
  Matrix<int64_t> truth;
  if (args.Has("groundtruth")) {
    if (limit > 0) {
      return Usage(usage,
                   "--limit changes the base, so ground truth from "
                   "--groundtruth would be wrong; leave out --groundtruth");
    }
    auto gt = GroundTruth(args, queries->rows, k, *queries, metric, &pool);
    if (!gt.ok()) return Fail("bench", gt.status());
    truth = std::move(*gt);
  } else {
    const double t0 = NowSeconds();
    auto gt =
        ExactNeighbors(base->view(), {}, queries->view(), k, metric, &pool);
    if (!gt.ok()) return Fail("bench", gt.status());
    std::fprintf(stderr, "computed exact ground truth in %.2f s\n",
                 NowSeconds() - t0);
    truth = std::move(*gt);
  }

  std::FILE* csv = nullptr;
  if (args.Has("csv")) {
    csv = std::fopen(args.Get("csv").c_str(), "w");
    if (csv == nullptr)
      return Fail("bench", args.Get("csv") + ": cannot create");
    std::fprintf(csv,
                 "spec,nprobe,ef,rerank,k,recall,qps,build_seconds,"
                 "memory_bytes,threads\n");
  }
  PlotSpec plot;
  std::string name = input.substr(input.find_last_of('/') + 1);
  plot.title = "Recall@" + std::to_string(k) + " vs QPS: " + name + " (" +
               std::to_string(base->rows) + " vectors, " +
               std::to_string(threads) + " threads)";
  plot.x_label = "Recall@" + std::to_string(k);
  plot.y_label = "Queries per second (log scale)";
  std::printf("%-28s %-26s %8s %12s\n", "spec", "knobs", "recall", "QPS");
  for (const std::string& spec : args.GetAll("spec")) {
    double build_seconds = 0;
    bool bad_spec = false;
    auto index =
        BuildIndex(spec, metric, *base, {}, &pool, &build_seconds, &bad_spec);
    if (!index.ok()) {
      if (csv != nullptr) std::fclose(csv);
      if (bad_spec) {
        return Usage(usage, "bad --spec '" + spec +
                                "': " + std::string(index.status().message()));
      }
      return Fail("bench", index.status());
    }
    const IndexInfo info = (*index)->info();
    std::fprintf(stderr, "%s: built in %.2f s, %s\n", spec.c_str(),
                 build_seconds,
                 FormatBytes(static_cast<double>(info.memory_bytes)).c_str());
    // An IVF-PQ index with Rerank gets one curve per re-rank factor unless
    // --rerank fixes it; every other index one curve.
    std::vector<int> rerank_factors = {fixed.rerank_factor};
    if (info.description.find(",Rerank") != std::string::npos &&
        !args.Has("rerank")) {
      rerank_factors = kBenchRerankFactors;
    }
    std::vector<int64_t> ids;
    std::vector<float> distances;
    for (int rerank : rerank_factors) {
      PlotSeries series;
      series.label = info.description;
      if (rerank_factors.size() > 1) {
        series.label += " rerank " + std::to_string(rerank);
      }
      SearchParams with_rerank = fixed;
      with_rerank.rerank_factor = rerank;
      for (const SearchParams& p : SweepPoints(**index, k, with_rerank)) {
        auto timed = TimedSearch(**index, queries->view(), p, &ids, &distances,
                                 &pool, 0.2);
        if (!timed.ok()) {
          if (csv != nullptr) std::fclose(csv);
          return Fail("bench", timed.status());
        }
        const double recall = RecallAtK(
            truth.view(),
            MatrixView<const int64_t>(ids.data(), queries->rows, k), k);
        std::printf("%-28s %-26s %8.4f %12.0f\n", info.description.c_str(),
                    KnobsString(**index, p).c_str(), recall, timed->qps);
        std::fflush(stdout);
        if (csv != nullptr) {
          std::fprintf(csv, "%s,%d,%d,%d,%d,%.6f,%.1f,%.3f,%" PRIu64 ",%d\n",
                       info.description.c_str(), p.nprobe, p.ef,
                       p.rerank_factor, k, recall, timed->qps, build_seconds,
                       info.memory_bytes, threads);
          std::fflush(csv);
        }
        series.points.emplace_back(recall, timed->qps);
        // Stop when further points only cost time: recall is (nearly) 1, or
        // it gained less than 0.001 over the last two points (a plateau).
        const auto& pts = series.points;
        if (recall >= 0.999 ||
            (pts.size() >= 3 && recall - pts[pts.size() - 3].first < 0.001)) {
          break;
        }
      }
      plot.series.push_back(std::move(series));
    }
  }
  if (csv != nullptr) {
    if (std::fclose(csv) != 0) {
      return Fail("bench", args.Get("csv") + ": write failed");
    }
    std::printf("wrote %s\n", args.Get("csv").c_str());
  }
  if (args.Has("plot")) {
    auto written = WritePlot(args.Get("plot"), plot);
    if (!written.ok()) return Fail("bench", written.status());
    if (*written != args.Get("plot")) {
      std::printf("gnuplot not found: wrote an SVG instead of a PNG\n");
    }
    std::printf("wrote %s\n", written->c_str());
  }
  return kExitOk;
}

// ---- tune ----------------------------------------------------------------

int RunTune(const Args& args, UsageError* usage) {
  for (const char* f : {"index", "queries"}) {
    if (!args.Has(f)) return Usage(usage, std::string("missing --") + f);
  }
  if (args.Has("groundtruth") == args.Has("base")) {
    return Usage(usage, "give exactly one of --groundtruth or --base");
  }
  SearchParams params;
  int threads;
  int64_t limit;
  double target;
  long long max_knob;
  if (!ReadSearchParams(args, &params, usage) ||
      !ReadThreads(args, &threads, usage) ||
      !ReadLimit(args, "limit", &limit, usage) ||
      !args.GetDouble("target", 0.95, 1e-6, 1.0, &target, usage) ||
      !args.GetInt("max-knob", 0, 0, 1 << 24, &max_knob, usage)) {
    return kExitUsage;
  }
  auto index = OpenIndex(args.Get("index"), args.Has("mmap"));
  if (!index.ok()) return Fail("tune", index.status());
  const IndexInfo info = (*index)->info();
  auto queries = ReadQueries(args.Get("queries"), info.dim, limit);
  if (!queries.ok()) return Fail("tune", queries.status());
  ThreadPool pool(threads);
  auto truth =
      GroundTruth(args, queries->rows, params.k, *queries, info.metric, &pool);
  if (!truth.ok()) return Fail("tune", truth.status());
  TuneOptions options;
  options.k = params.k;
  options.target_recall = target;
  options.groundtruth = truth->view();
  options.max_knob = static_cast<int>(max_knob);
  const double t0 = NowSeconds();
  auto result = Tune(**index, queries->view(), options, &pool);
  if (!result.ok()) return Fail("tune", result.status());
  std::printf(
      "tuning %s for recall@%d >= %.3f on %" PRId64 " queries, %d threads\n",
      info.description.c_str(), params.k, target, queries->rows, threads);
  std::printf("  %-26s %8s %12s\n", "knobs", "recall", "QPS");
  for (const TunePoint& p : result->tried) {
    std::printf("  %-26s %8.4f %12.0f\n",
                KnobsString(**index, p.params).c_str(), p.recall, p.qps);
  }
  const TunePoint& best = result->best;
  std::printf("%s: %s recall@%d=%.4f QPS=%.0f (%zu points, %.1f s)\n",
              result->reached ? "best" : "target NOT reached; highest recall",
              KnobsString(**index, best.params).c_str(), params.k, best.recall,
              best.qps, result->tried.size(), NowSeconds() - t0);
  if (result->reached) {
    std::printf("search with: --k %d%s\n", params.k,
                KnobFlags(**index, best.params).c_str());
    return kExitOk;
  }
  return kExitRuntime;
}

// ---- info ----------------------------------------------------------------

int RunInfo(const Args& args, UsageError* usage) {
  (void)usage;
  const std::string path = args.positional()[0];
  auto report = io::InspectIndexFile(path);
  if (!report.ok()) return Fail("info", WithPath(report.status(), path));
  const io::FileHeader& h = report->header;
  std::printf("file:        %s (%" PRIu64 " bytes)\n", path.c_str(),
              report->file_bytes);
  std::printf("format:      version %u\n", h.version);
  std::printf("family:      %s\n",
              std::string(IndexFamilyName(h.family)).c_str());
  std::printf("dim:         %u\n", h.dim);
  std::printf("metric:      %s\n", std::string(MetricName(h.metric)).c_str());
  std::printf("count:       %" PRIu64 "\n", h.count);
  std::printf("sections:\n  %-5s %12s %14s  %-10s %s\n", "tag", "offset",
              "length", "crc32c", "check");
  for (const io::SectionReport& s : report->sections) {
    std::printf("  %-5s %12" PRIu64 " %14" PRIu64 "  %08x   %s\n",
                s.tag.c_str(), s.offset, s.length, s.stored_crc,
                s.checksum_ok() ? "ok" : "MISMATCH");
  }
  if (!report->problem.empty()) {
    return Fail("info", path + ": " + report->problem);
  }
  auto index = OpenIndex(path, args.Has("mmap"));
  if (!index.ok()) return Fail("info", index.status());
  const IndexInfo info = (*index)->info();
  std::printf("index:       %s, %" PRId64 " vectors, %s in memory%s\n",
              info.description.c_str(), info.size,
              FormatBytes(static_cast<double>(info.memory_bytes)).c_str(),
              info.memory_mapped ? " (memory-mapped)" : "");
  std::printf("status:      ok (all checksums verified, loads)\n");
  return kExitOk;
}

// ---- the table -------------------------------------------------------------

const FlagSpec kThreads{"threads", "N", "Threads to use (default: all cores)."};
const FlagSpec kK{"k", "N", "Neighbours per query (default 10)."};
const FlagSpec kNprobe{"nprobe", "N",
                       "IVF: lists scanned per query (default: the index's)."};
const FlagSpec kEf{"ef", "N",
                   "HNSW: candidate list size (default: the index's)."};
const FlagSpec kRerank{"rerank", "N",
                       "IVF-PQ with Rerank: re-rank k*N candidates exactly."};
const FlagSpec kMmap{"mmap", "",
                     "Memory-map the index file instead of reading it."};
const FlagSpec kIndex{"index", "FILE", "Index file written by 'vindex build'."};
const FlagSpec kQueries{"queries", "FILE",
                        "Query vectors (.fvecs, .bvecs, .npy, .hdf5)."};
const FlagSpec kGroundTruth{
    "groundtruth", "FILE",
    "True neighbour ids per query, best first (.ivecs, .npy, .hdf5)."};
const FlagSpec kBase{
    "base", "FILE",
    "Base vectors: ground truth is computed exactly from them."};
const FlagSpec kMetric{"metric", "l2|ip|cosine", "Distance (default l2)."};

const char kFormats[] =
    "Vector files: .fvecs, .bvecs (uint8), .npy (float32/float64/uint8, 2-D, "
    "C\n"
    "order) and, when built with HDF5, ann-benchmarks .hdf5 files (FILE.hdf5\n"
    "takes train/test/neighbors by role; FILE.hdf5:NAME a named dataset).\n"
    "Exit codes: 0 ok, 1 runtime error, 2 bad arguments.";

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command>* commands = new std::vector<Command>{
      {{"build",
        "Builds an index from a vector file and saves it.",
        "vindex build --spec SPEC --input FILE --out INDEX [flags]",
        std::string("SPEC is a factory string: Flat | IVF<nlist>,Flat |\n"
                    "IVF<nlist>,PQ<m>[x4fs|x8][,Rerank] | HNSW<M>, e.g. "
                    "\"IVF4096,PQ32x4fs,Rerank\".\n") +
            kFormats,
        {{"spec", "SPEC", "Index factory string (required)."},
         {"input", "FILE", "Base vectors (required)."},
         {"out", "INDEX", "Where to save the index (required)."},
         kMetric,
         {"ids", "FILE",
          "One int32 id per vector (.ivecs or .npy, one column); default "
          "0..n-1."},
         {"limit", "N", "Use only the first N vectors."},
         kThreads},
        0,
        0},
       RunBuild},
      {{"search",
        "Searches an index and writes the results.",
        "vindex search --index INDEX --queries FILE --out FILE [flags]",
        "--out: .ivecs or .npy (ids), .fvecs (distances) or .csv\n"
        "(query,rank,id,distance).",
        {kIndex,
         kQueries,
         {"out", "FILE", "Results file (required)."},
         kK,
         kNprobe,
         kEf,
         kRerank,
         kMmap,
         {"limit", "N", "Search only the first N queries."},
         kThreads},
        0,
        0},
       RunSearch},
      {{"eval",
        "Measures recall@k, QPS and latency of an index.",
        "vindex eval --index INDEX --queries FILE (--groundtruth FILE | "
        "--base FILE) [flags]",
        "QPS is measured with batch searches on --threads threads; latency "
        "with one query\nper call on one thread.",
        {kIndex,
         kQueries,
         kGroundTruth,
         kBase,
         kK,
         kNprobe,
         kEf,
         kRerank,
         kMmap,
         {"limit", "N", "Use only the first N queries."},
         {"latency-queries", "N",
          "Queries timed one by one for latency (default 1000)."},
         kThreads},
        0,
        0},
       RunEval},
      {{"bench",
        "Builds each spec, sweeps its search knob, writes a CSV and a "
        "recall-vs-QPS plot.",
        "vindex bench --input BASE --queries Q [--groundtruth GT] --spec S "
        "[--spec S2 ...] --csv OUT.csv --plot OUT.svg",
        "The sweep doubles nprobe (IVF) or raises ef (HNSW) until recall@k "
        "reaches 0.999\nor stops improving. An IVF-PQ spec with Rerank gets "
        "one curve per re-rank\nfactor (2, 4, 16) unless --rerank fixes "
        "it.\n--plot: .svg (written directly) "
        "or .png (needs "
        "gnuplot; else an .svg is written).\nWithout --groundtruth the exact "
        "neighbours are computed from --input.",
        {{"input", "FILE", "Base vectors (required)."},
         kQueries,
         kGroundTruth,
         {"spec", "SPEC", "Index factory string.", true},
         {"csv", "FILE", "CSV of every point measured."},
         {"plot", "FILE", "Recall-vs-QPS plot (.svg or .png)."},
         kMetric,
         kK,
         kRerank,
         {"limit", "N", "Use only the first N base vectors."},
         {"query-limit", "N", "Use only the first N queries."},
         kThreads},
        0,
        0},
       RunBench},
      {{"tune",
        "Finds the cheapest search knobs reaching a target recall@k.",
        "vindex tune --index INDEX --queries Q (--groundtruth GT | --base B) "
        "--target 0.95 [--k 10]",
        "Doubles the knob until the target is reached, then bisects down to "
        "the smallest\nvalue reaching it (for IVF-PQ with Rerank, for each "
        "re-rank factor 1..16).\nExit code 1 when no setting reaches the "
        "target.",
        {kIndex,
         kQueries,
         kGroundTruth,
         kBase,
         {"target", "R", "Target mean recall@k in (0, 1] (default 0.95)."},
         kK,
         {"max-knob", "N", "Largest nprobe/ef tried (default nlist / 4096)."},
         kMmap,
         {"limit", "N", "Use only the first N queries."},
         kThreads},
        0,
        0},
       RunTune},
      {{"info",
        "Shows an index file's header and sections, verifying every "
        "checksum.",
        "vindex info INDEX [--mmap]",
        "",
        {kMmap},
        1,
        1},
       RunInfo},
      {GenerateSpec(), RunGenerate},
  };
  return *commands;
}

}  // namespace vindex::cli
