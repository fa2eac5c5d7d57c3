// `vindex generate`: writes a reproducible clustered dataset in the TEXMEX
// layout the benches and scripts read (PREFIX_base.fvecs,
// PREFIX_query.fvecs, PREFIX_groundtruth.ivecs), with exact ground truth.

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "command_support.h"
#include "commands.h"
#include "vindex/vindex.h"

namespace vindex::cli {
namespace {

// Rows drawn around sqrt(n) Gaussian centres (spread 4) with unit noise, so
// that indexes see cluster structure as in real embeddings.
void FillClustered(const std::vector<float>& centres, int64_t num_centres,
                   int64_t dim, bool normalise, std::mt19937_64* rng,
                   std::vector<float>* rows, int64_t num_rows) {
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::uniform_int_distribution<int64_t> pick(0, num_centres - 1);
  rows->resize(num_rows * dim);
  for (int64_t i = 0; i < num_rows; ++i) {
    const float* c = centres.data() + pick(*rng) * dim;
    float* row = rows->data() + i * dim;
    double norm = 0;
    for (int64_t j = 0; j < dim; ++j) {
      row[j] = c[j] + noise(*rng);
      norm += double{row[j]} * row[j];
    }
    if (normalise && norm > 0) {
      const float scale = static_cast<float>(1.0 / std::sqrt(norm));
      for (int64_t j = 0; j < dim; ++j) row[j] *= scale;
    }
  }
}

}  // namespace

CommandSpec GenerateSpec() {
  return {"generate",
          "Writes a clustered dataset with exact ground truth (fvecs/ivecs).",
          "vindex generate --out PREFIX [--n 100000] [--dim 128] "
          "[--queries 1000] [--metric l2|ip] [--seed 42]",
          "Writes PREFIX_base.fvecs, PREFIX_query.fvecs and "
          "PREFIX_groundtruth.ivecs\n(the 100 true nearest base rows of each "
          "query, best first), the layout\nann_bench --data DIR --dataset NAME "
          "and scripts/cli_tour.sh read. With\n--metric ip the rows are unit "
          "vectors and the truth is by inner product; name\nsuch a dataset "
          "...-angular so that the benches use inner product too.",
          {{"out", "PREFIX", "Path prefix of the three files (required)."},
           {"n", "N", "Base vectors (default 100000)."},
           {"dim", "D", "Dimensions (default 128)."},
           {"queries", "N", "Query vectors (default 1000)."},
           {"metric", "M", "l2 (default) or ip (unit vectors)."},
           {"seed", "S", "Random seed (default 42)."},
           {"threads", "N", "Threads for the ground truth (default: all)."}},
          0,
          0};
}

int RunGenerate(const Args& args, UsageError* usage) {
  if (!args.Has("out")) {
    usage->message = "--out PREFIX is required";
    return kExitUsage;
  }
  long long n, dim, nq, seed, threads;
  // 2^31 floats per matrix keeps every file and buffer within reach.
  constexpr long long kMaxFloats = 1LL << 31;
  if (!args.GetInt("n", 100000, 1, kMaxFloats, &n, usage) ||
      !args.GetInt("dim", 128, 1, 65536, &dim, usage) ||
      !args.GetInt("queries", 1000, 1, kMaxFloats, &nq, usage) ||
      !args.GetInt("seed", 42, 0, std::numeric_limits<int32_t>::max(), &seed,
                   usage) ||
      !args.GetInt("threads", 0, 0, 4096, &threads, usage)) {
    return kExitUsage;
  }
  if (n * dim > kMaxFloats || nq * dim > kMaxFloats) {
    usage->message = "--n or --queries times --dim exceeds 2^31 floats";
    return kExitUsage;
  }
  const std::string metric_name = args.Get("metric", "l2");
  if (metric_name != "l2" && metric_name != "ip") {
    usage->message = "--metric must be l2 or ip, got '" + metric_name + "'";
    return kExitUsage;
  }
  const bool ip = metric_name == "ip";
  const std::string prefix = args.Get("out");

  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  std::normal_distribution<float> spread(0.0f, 4.0f);
  const int64_t num_centres =
      std::max<int64_t>(1, std::llround(std::sqrt(static_cast<double>(n))));
  std::vector<float> centres(num_centres * dim);
  for (float& x : centres) x = spread(rng);
  std::vector<float> base, queries;
  FillClustered(centres, num_centres, dim, ip, &rng, &base, n);
  FillClustered(centres, num_centres, dim, ip, &rng, &queries, nq);

  auto flat = MakeIndex("Flat", static_cast<int>(dim),
                        ip ? Metric::kInnerProduct : Metric::kL2);
  if (!flat.ok()) return Fail("generate", flat.status());
  ThreadPool pool(threads > 0
                      ? static_cast<int>(threads)
                      : std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  MatrixView<const float> base_view(base.data(), n, dim);
  if (auto s = (*flat)->Add(base_view, ids, &pool); !s.ok())
    return Fail("generate", s);
  const int64_t k = std::min<int64_t>(100, n);
  std::vector<int64_t> nn(nq * k);
  std::vector<float> dist(nq * k);
  SearchParams params;
  params.k = static_cast<int>(k);
  if (auto s = (*flat)->Search(MatrixView<const float>(queries.data(), nq, dim),
                               params,
                               {MatrixView<int64_t>(nn.data(), nq, k),
                                MatrixView<float>(dist.data(), nq, k)},
                               &pool);
      !s.ok()) {
    return Fail("generate", s);
  }
  std::vector<int32_t> truth(nn.begin(), nn.end());  // ids < n <= 2^31.

  const std::string base_path = prefix + "_base.fvecs";
  const std::string query_path = prefix + "_query.fvecs";
  const std::string truth_path = prefix + "_groundtruth.ivecs";
  if (auto s = WriteFvecs(base_path, base_view); !s.ok())
    return Fail("generate", s);
  if (auto s = WriteFvecs(query_path,
                          MatrixView<const float>(queries.data(), nq, dim));
      !s.ok()) {
    return Fail("generate", s);
  }
  if (auto s = WriteIvecs(truth_path,
                          MatrixView<const int32_t>(truth.data(), nq, k));
      !s.ok()) {
    return Fail("generate", s);
  }
  std::printf("wrote %s (%lld x %lld), %s (%lld), %s (k=%" PRId64 ", %s)\n",
              base_path.c_str(), n, dim, query_path.c_str(), nq,
              truth_path.c_str(), k, ip ? "inner product" : "squared L2");
  return kExitOk;
}

}  // namespace vindex::cli
