// `vindex tune`: finds the cheapest search knobs that reach a target recall@k.

#include <cinttypes>
#include <cstdio>
#include <string>

#include "command_flags.h"
#include "command_support.h"
#include "commands.h"
#include "progress.h"
#include "vindex/tune.h"
#include "vindex/vindex.h"

namespace vindex::cli {
namespace {

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

}  // namespace

CommandSpec TuneSpec() {
  return CommandSpec{
      "tune",
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
      0};
}

int RunTune(const Args& args, UsageError* usage) {
  if (!CheckEvalFlags(args, usage)) return kExitUsage;
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
  ThreadPool pool(threads);
  auto inputs = ReadEvalInputs(args, params.k, limit, &pool);
  if (!inputs.ok()) return Fail("tune", inputs.status());
  const Index& index = *inputs->index;
  const IndexInfo info = index.info();
  const FloatMatrix& queries = inputs->queries;
  const Matrix<int64_t>& truth = inputs->truth;
  TuneOptions options;
  options.k = params.k;
  options.target_recall = target;
  options.groundtruth = truth.view();
  options.max_knob = static_cast<int>(max_knob);
  const double t0 = NowSeconds();
  auto result = Tune(index, queries.view(), options, &pool);
  if (!result.ok()) return Fail("tune", result.status());
  std::printf(
      "tuning %s for recall@%d >= %.3f on %" PRId64 " queries, %d threads\n",
      info.description.c_str(), params.k, target, queries.rows, threads);
  std::printf("  %-26s %8s %12s\n", "knobs", "recall", "QPS");
  for (const TunePoint& p : result->tried) {
    std::printf("  %-26s %8.4f %12.0f\n", KnobsString(index, p.params).c_str(),
                p.recall, p.qps);
  }
  const TunePoint& best = result->best;
  std::printf("%s: %s recall@%d=%.4f QPS=%.0f (%zu points, %.1f s)\n",
              result->reached ? "best" : "target NOT reached; highest recall",
              KnobsString(index, best.params).c_str(), params.k, best.recall,
              best.qps, result->tried.size(), NowSeconds() - t0);
  if (result->reached) {
    std::printf("search with: --k %d%s\n", params.k,
                KnobFlags(index, best.params).c_str());
    return kExitOk;
  }
  return kExitRuntime;
}

}  // namespace vindex::cli
