// `vindex eval`: measures recall@k, batch QPS and single-query latency of an
// index.

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "command_flags.h"
#include "command_support.h"
#include "commands.h"
#include "progress.h"
#include "vindex/tune.h"
#include "vindex/vindex.h"

namespace vindex::cli {

CommandSpec EvalSpec() {
  return CommandSpec{
      "eval",
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
      0};
}

int RunEval(const Args& args, UsageError* usage) {
  if (!CheckEvalFlags(args, usage)) return kExitUsage;
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
  ThreadPool pool(threads);
  auto inputs = ReadEvalInputs(args, params.k, limit, &pool);
  if (!inputs.ok()) return Fail("eval", inputs.status());
  const Index& index = *inputs->index;
  const IndexInfo info = index.info();
  const FloatMatrix& queries = inputs->queries;
  const Matrix<int64_t>& truth = inputs->truth;

  std::vector<int64_t> ids;
  std::vector<float> distances;
  auto timed =
      TimedSearch(index, queries.view(), params, &ids, &distances, &pool, 0.2);
  if (!timed.ok()) return Fail("eval", timed.status());
  const double recall = RecallAtK(
      truth.view(),
      MatrixView<const int64_t>(ids.data(), queries.rows, params.k), params.k);
  // Latency: one query per call on the calling thread.
  const int64_t nl = std::min<int64_t>(queries.rows, latency_queries);
  std::vector<double> lat(nl);
  std::vector<int64_t> one_id(params.k);
  std::vector<float> one_d(params.k);
  for (int64_t i = 0; i < nl; ++i) {
    const double t0 = NowSeconds();
    auto s = index.Search(
        MatrixView<const float>(queries.row(i), 1, queries.cols), params,
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
              KnobsString(index, params).c_str());
  std::printf("queries:    %" PRId64 "\n", queries.rows);
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

}  // namespace vindex::cli
