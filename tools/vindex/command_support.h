#ifndef VINDEX_TOOLS_VINDEX_COMMAND_SUPPORT_H_
#define VINDEX_TOOLS_VINDEX_COMMAND_SUPPORT_H_

// What several subcommands share: error reporting, reading the common flags,
// opening the index and the query / ground-truth / id files, building an
// index with progress, timing a batch search, and formatting sizes.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "args.h"
#include "vindex/vindex.h"

namespace vindex::cli {

// Prints "vindex COMMAND: message" on stderr; returns kExitRuntime.
int Fail(const char* command, const absl::Status& status);
int Fail(const char* command, const std::string& message);

// Sets *usage to `message`; returns kExitUsage.
int Usage(UsageError* usage, std::string message);

bool EndsWith(const std::string& s, const std::string& suffix);

// Prefixes `path: ` unless the message already names it.
absl::Status WithPath(const absl::Status& s, const std::string& path);

// Each reader returns false (with *usage naming the flag) on a bad value.
// Every flag in `names` must be given; *usage names the first missing one.
bool RequireFlags(const Args& args, std::initializer_list<const char*> names,
                  UsageError* usage);
// --metric: "l2" (the default) / "L2", "ip" / "inner_product" or "cosine".
bool ReadMetric(const Args& args, Metric* metric, UsageError* usage);
// --k and the knobs (--nprobe, --ef, --rerank) into params.
bool ReadSearchParams(const Args& args, SearchParams* params,
                      UsageError* usage);
// --threads; 0 or absent means all cores.
bool ReadThreads(const Args& args, int* threads, UsageError* usage);
// A row limit such as --limit; 0 or absent means no limit.
bool ReadLimit(const Args& args, const std::string& name, int64_t* limit,
               UsageError* usage);

// Loads the index file at `path` (memory-mapped when `mmap`).
absl::StatusOr<std::unique_ptr<Index>> OpenIndex(const std::string& path,
                                                 bool mmap);

// Query vectors of dimension `dim` (at most `limit` rows, 0 = all); an empty
// file is an error.
absl::StatusOr<FloatMatrix> ReadQueries(const std::string& path, int dim,
                                        int64_t limit);

// Ground truth for `nq` queries as int64 ids (nq x at least k), from
// --groundtruth or computed exactly over the --base vectors.
absl::StatusOr<Matrix<int64_t>> GroundTruth(const Args& args, int64_t nq, int k,
                                            const FloatMatrix& queries,
                                            Metric metric, Executor* pool);

// eval and tune: --index and --queries are required, with exactly one of
// --groundtruth and --base. False (with *usage set) otherwise.
bool CheckEvalFlags(const Args& args, UsageError* usage);

// What eval and tune measure with: the index (--index, --mmap), the first
// `limit` queries (--queries; 0 = all) and their `k` true neighbours.
struct EvalInputs {
  std::unique_ptr<Index> index;
  FloatMatrix queries;
  Matrix<int64_t> truth;
};
absl::StatusOr<EvalInputs> ReadEvalInputs(const Args& args, int k,
                                          int64_t limit, Executor* pool);

// Reads `path` as --ids: one int32 per row, at least `n` rows.
absl::StatusOr<std::vector<int64_t>> ReadIds(const std::string& path,
                                             int64_t n);

// Builds `spec` over `base`: train (when needed), then add in chunks with a
// progress line. `ids` may be empty (0..n-1). On failure *bad_spec tells
// whether the spec itself was at fault (a usage error).
absl::StatusOr<std::unique_ptr<Index>> BuildIndex(
    const std::string& spec, Metric metric, const FloatMatrix& base,
    const std::vector<int64_t>& ids, Executor* pool, double* build_seconds,
    bool* bad_spec);

// The usage error for a --spec that BuildIndex rejected.
int BadSpec(UsageError* usage, const std::string& spec,
            const absl::Status& status);

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
                                  double min_seconds);

// "12.3 MiB" and the like.
std::string FormatBytes(double bytes);

}  // namespace vindex::cli

#endif  // VINDEX_TOOLS_VINDEX_COMMAND_SUPPORT_H_
