// `vindex bench`: builds each spec, sweeps its search knob, and writes a CSV
// and a recall-vs-QPS plot.

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "command_flags.h"
#include "command_support.h"
#include "commands.h"
#include "inputs.h"
#include "plot.h"
#include "progress.h"
#include "vindex/tune.h"
#include "vindex/vindex.h"

namespace vindex::cli {
namespace {

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

// Re-rank factors `bench` sweeps (one curve each) on an index with Rerank.
const std::vector<int> kBenchRerankFactors = {2, 4, 16};

}  // namespace

CommandSpec BenchSpec() {
  return CommandSpec{
      "bench",
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
      0};
}

int RunBench(const Args& args, UsageError* usage) {
  if (!RequireFlags(args, {"input", "queries", "spec"}, usage))
    return kExitUsage;
  if (!args.Has("csv") && !args.Has("plot")) {
    return Usage(usage, "give --csv and/or --plot for the results");
  }
  Metric metric = Metric::kL2;
  if (!ReadMetric(args, &metric, usage)) return kExitUsage;
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
        return BadSpec(usage, spec, index.status());
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

}  // namespace vindex::cli
