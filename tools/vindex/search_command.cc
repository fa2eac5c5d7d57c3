// `vindex search`: searches an index and writes the results in the format
// that --out names.

#include <cinttypes>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "command_flags.h"
#include "command_support.h"
#include "commands.h"
#include "vindex/tune.h"
#include "vindex/vector_files.h"
#include "vindex/vindex.h"

namespace vindex::cli {
namespace {

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

}  // namespace

CommandSpec SearchSpec() {
  return CommandSpec{
      "search",
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
      0};
}

int RunSearch(const Args& args, UsageError* usage) {
  if (!RequireFlags(args, {"index", "queries", "out"}, usage))
    return kExitUsage;
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

}  // namespace vindex::cli
