// `vindex build`: builds an index from a vector file and saves it.

#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "command_flags.h"
#include "command_support.h"
#include "commands.h"
#include "inputs.h"
#include "progress.h"
#include "vindex/vindex.h"

namespace vindex::cli {

CommandSpec BuildSpec() {
  return CommandSpec{
      "build",
      "Builds an index from a vector file and saves it.",
      "vindex build --spec SPEC --input FILE --out INDEX [flags]",
      std::string("SPEC is a factory string: Flat | IVF<nlist>,Flat |\n"
                  "IVF<nlist>,PQ<m>[x4fs|x8][,Rerank] |\n"
                  "HNSW<M>[,SQ8|,SQ4|,FP16][,alpha<a>], any of them after "
                  "\"Rot,\", e.g.\n\"IVF4096,PQ32x4fs,Rerank\".\n") +
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
      0};
}

int RunBuild(const Args& args, UsageError* usage) {
  if (!RequireFlags(args, {"spec", "input", "out"}, usage)) return kExitUsage;
  Metric metric = Metric::kL2;
  if (!ReadMetric(args, &metric, usage)) return kExitUsage;
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
      return BadSpec(usage, spec, index.status());
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

}  // namespace vindex::cli
