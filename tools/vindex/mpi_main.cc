// vindex-mpi: the distributed commands of the vindex tool, run under mpirun.
//
//   mpirun -np N vindex-mpi build  --spec S --input FILE --out DIR
//   mpirun -np N vindex-mpi search --index DIR --queries FILE --k K --out F
//   mpirun -np N vindex-mpi eval   --index DIR --queries FILE
//                                  --groundtruth FILE --k K
//
// A separate binary, so that `vindex` itself never needs MPI. Every rank
// runs the same command; progress and results are printed and written by
// rank 0 only. The index folder holds one shard per rank (search runs on as
// many ranks as the build did); --replicated FILE searches a whole index file
// on every rank instead, each rank taking a share of the queries.

#include <mpi.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "args.h"
#include "command_support.h"
#include "commands.h"
#include "vindex/executor.h"
#include "vindex/index.h"
#include "vindex/mpi/distributed.h"
#include "vindex/vector_files.h"

namespace vindex::cli {
namespace {

const std::vector<FlagSpec> kSearchFlags = {
    {"index", "DIR", "sharded index folder (from vindex-mpi build)"},
    {"replicated", "FILE",
     "instead of --index: a whole index file every rank maps and searches a "
     "share of the queries of"},
    {"queries", "FILE", "query vectors (.fvecs, .bvecs, .npy)"},
    {"k", "K", "results per query (default 10)"},
    {"nprobe", "N", "IVF lists probed per query (default: the index's)"},
    {"ef", "N", "HNSW candidate list size (default: the index's)"},
    {"rerank", "F", "IVF-PQ re-rank factor (default: the index's)"},
    {"batch", "N", "queries broadcast per batch (default 4096)"},
    {"allow", "FILE", "only these ids may be returned (.ivecs, one per row)"},
    {"threads", "N", "threads per rank (default: all cores)"},
};

CommandSpec BuildSpec() {
  return {"build",
          "build a sharded index, one shard per rank",
          "mpirun -np N vindex-mpi build --spec S --input FILE --out DIR",
          "Rank r reads rows [r*n/N, (r+1)*n/N) of the input only; ids are "
          "row numbers.\nIVF: k-means runs across ranks and whole lists move "
          "to the shard that owns them.\n",
          {{"spec", "S", "factory string, e.g. IVF1024,Flat"},
           {"input", "FILE", "base vectors (.fvecs, .bvecs, .npy)"},
           {"out", "DIR", "index folder (shards + MANIFEST)"},
           {"metric", "M", "l2 (default), ip or cosine"},
           {"train-rows", "N", "train on the first N rows (default: all)"},
           {"threads", "N", "threads per rank (default: all cores)"}},
          0,
          0};
}

CommandSpec SearchSpec(bool eval) {
  CommandSpec s{eval ? "eval" : "search",
                eval ? "recall@k and QPS of a distributed search"
                     : "batch search across ranks, results to an .ivecs file",
                eval ? "mpirun -np N vindex-mpi eval --index DIR --queries F "
                       "--groundtruth F"
                     : "mpirun -np N vindex-mpi search --index DIR --queries "
                       "F --out F",
                "",
                kSearchFlags,
                0,
                0};
  if (eval) {
    s.flags.push_back(
        {"groundtruth", "FILE", "true neighbour ids (.ivecs, .npy)"});
  } else {
    s.flags.push_back({"out", "FILE", "result ids (.ivecs), rank 0 writes"});
  }
  return s;
}

int Root(const mpi::Communicator& comm) { return comm.rank() == 0; }

void Say(const mpi::Communicator& comm, const std::string& line) {
  if (Root(comm)) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
}

int RunBuild(mpi::Communicator& comm, const Args& args, UsageError* usage) {
  if (!RequireFlags(args, {"spec", "input", "out"}, usage)) return kExitUsage;
  Metric metric;
  int threads = 0;
  long long train_rows = 0;
  if (!ReadMetric(args, &metric, usage) ||
      !ReadThreads(args, &threads, usage) ||
      !args.GetInt("train-rows", 0, 0, 1LL << 40, &train_rows, usage)) {
    return kExitUsage;
  }
  const std::string input = args.Get("input");
  absl::StatusOr<VectorFileShape> shape = ReadVectorFileShape(input);
  if (absl::Status s = comm.AgreeOnStatus(shape.status()); !s.ok()) {
    return Fail("build", s);
  }
  absl::StatusOr<IndexSpec> spec =
      ParseIndexSpec(args.Get("spec"), shape->dim, metric);
  if (!spec.ok()) return BadSpec(usage, args.Get("spec"), spec.status());
  ThreadPool pool(threads);
  mpi::ShardedBuildOptions options;
  options.train_rows = train_rows;
  const double t0 = MPI_Wtime();
  options.progress = [&](std::string_view line) {
    Say(comm,
        absl::StrFormat("[%7.2f s] %s", MPI_Wtime() - t0, std::string(line)));
  };
  absl::Status s = mpi::BuildShardedIndexFromFile(
      comm, *spec, input, args.Get("out"), options, &pool);
  if (!s.ok()) return Root(comm) ? Fail("build", s) : kExitRuntime;
  Say(comm, absl::StrFormat("built %d shards of %d-d vectors in %.2f s into %s",
                            comm.size(), shape->dim, MPI_Wtime() - t0,
                            args.Get("out")));
  return kExitOk;
}

int RunSearch(mpi::Communicator& comm, const Args& args, bool eval,
              UsageError* usage) {
  const char* name = eval ? "eval" : "search";
  if (args.Has("index") == args.Has("replicated")) {
    return Usage(usage, "give exactly one of --index and --replicated");
  }
  if (!RequireFlags(args, {"queries"}, usage)) return kExitUsage;
  if (!RequireFlags(args, {eval ? "groundtruth" : "out"}, usage)) {
    return kExitUsage;
  }
  SearchParams params;
  int threads = 0;
  long long batch = 4096;
  if (!ReadSearchParams(args, &params, usage) ||
      !ReadThreads(args, &threads, usage) ||
      !args.GetInt("batch", 4096, 1, 1LL << 30, &batch, usage)) {
    return kExitUsage;
  }
  absl::StatusOr<mpi::ShardedSearcher> searcher =
      args.Has("index")
          ? mpi::ShardedSearcher::Open(comm, args.Get("index"))
          : mpi::ShardedSearcher::OpenReplicated(comm, args.Get("replicated"));
  if (!searcher.ok()) return Root(comm) ? Fail(name, searcher.status()) : 1;
  const int dim = searcher->manifest().dim;
  // Rank 0 reads the queries, the allow-list and the ground truth.
  FloatMatrix queries;
  std::vector<int64_t> allow;
  Int32Matrix truth;
  absl::Status local;
  if (Root(comm)) {
    absl::StatusOr<FloatMatrix> q = ReadQueries(args.Get("queries"), dim, 0);
    local = q.status();
    if (q.ok()) queries = *std::move(q);
    if (local.ok() && args.Has("allow")) {
      absl::StatusOr<Int32Matrix> a = ReadIntVectors(args.Get("allow"));
      local = a.status();
      if (a.ok()) allow.assign(a->data.begin(), a->data.end());
    }
    if (local.ok() && eval) {
      absl::StatusOr<Int32Matrix> t = ReadIntVectors(args.Get("groundtruth"));
      local = t.status();
      if (t.ok()) truth = *std::move(t);
      if (local.ok() && (truth.rows < queries.rows || truth.cols < params.k)) {
        local = absl::InvalidArgumentError(
            "the ground truth has fewer rows than queries or fewer than k "
            "columns");
      }
    }
  }
  if (absl::Status s = comm.AgreeOnStatus(local); !s.ok()) {
    return Root(comm) ? Fail(name, s) : kExitRuntime;
  }
  const int k = params.k;
  std::vector<int64_t> ids(queries.rows * k);
  std::vector<float> dists(queries.rows * k);
  mpi::ShardedSearchOptions options{
      .params = params,
      .allow_list = args.Has("allow") ? &allow : nullptr,
      .batch_rows = batch};
  ThreadPool pool(threads);
  mpi::SearchTraffic traffic;
  const double t0 = MPI_Wtime();
  absl::Status s =
      searcher->Search(queries.view(), options,
                       {MatrixView<int64_t>(ids.data(), queries.rows, k),
                        MatrixView<float>(dists.data(), queries.rows, k)},
                       &pool, &traffic);
  const double seconds = MPI_Wtime() - t0;
  if (!s.ok()) return Root(comm) ? Fail(name, s) : kExitRuntime;
  // Bytes each rank sent, per batch (the largest over the ranks).
  int64_t sent[2] = {traffic.bytes_sent, -traffic.bytes_sent};
  if (absl::Status m = comm.MaxInt64(absl::MakeSpan(sent, 2)); !m.ok()) {
    return Root(comm) ? Fail(name, m) : kExitRuntime;
  }
  if (!Root(comm)) return kExitOk;
  const int64_t nq = queries.rows;
  std::printf(
      "%s: %lld queries, k=%d, %d ranks (%s): %.3f s, %.0f QPS; bytes sent "
      "per rank per batch: %.0f to %.0f (%lld batches)\n",
      name, static_cast<long long>(nq), k, comm.size(),
      searcher->replicated() ? "replicated" : "sharded", seconds, nq / seconds,
      static_cast<double>(-sent[1]) / traffic.batches,
      static_cast<double>(sent[0]) / traffic.batches,
      static_cast<long long>(traffic.batches));
  if (eval) {
    int64_t hits = 0;
    for (int64_t q = 0; q < nq; ++q) {
      for (int j = 0; j < k; ++j) {
        for (int t = 0; t < k; ++t) {
          if (ids[q * k + j] == truth.row(q)[t]) {
            ++hits;
            break;
          }
        }
      }
    }
    std::printf("recall@%d: %.4f\n", k,
                static_cast<double>(hits) / (static_cast<double>(nq) * k));
    return kExitOk;
  }
  std::vector<int32_t> out(ids.begin(), ids.end());
  if (absl::Status w = WriteIvecs(args.Get("out"),
                                  MatrixView<const int32_t>(out.data(), nq, k));
      !w.ok()) {
    return Fail(name, w);
  }
  std::printf("wrote %s\n", args.Get("out").c_str());
  return kExitOk;
}

int Run(int argc, char** argv) {
  absl::StatusOr<mpi::Communicator> comm = mpi::Communicator::Create();
  if (!comm.ok()) return Fail("vindex-mpi", comm.status());
  const std::vector<CommandSpec> specs = {BuildSpec(), SearchSpec(false),
                                          SearchSpec(true)};
  const std::string name = argc >= 2 ? argv[1] : "";
  for (const CommandSpec& spec : specs) {
    if (spec.name != name) continue;
    Args parsed;
    UsageError error;
    std::vector<std::string> args(argv + 2, argv + argc);
    if (!parsed.Parse(spec, args, &error)) {
      if (Root(*comm)) {
        std::fprintf(stderr, "vindex-mpi %s: %s\n", name.c_str(),
                     error.message.c_str());
      }
      return kExitUsage;
    }
    if (parsed.help()) {
      if (Root(*comm)) std::printf("%s", HelpText(spec).c_str());
      return kExitOk;
    }
    int code = kExitUsage;
    if (name == "build") {
      code = RunBuild(*comm, parsed, &error);
    } else {
      code = RunSearch(*comm, parsed, name == "eval", &error);
    }
    if (code == kExitUsage && Root(*comm)) {
      std::fprintf(stderr, "vindex-mpi %s: %s (see 'vindex-mpi %s --help')\n",
                   name.c_str(), error.message.c_str(), name.c_str());
    }
    return code;
  }
  if (Root(*comm)) {
    std::fprintf(stderr,
                 "usage: mpirun -np N vindex-mpi build|search|eval [flags] "
                 "(see 'vindex-mpi COMMAND --help')\n");
  }
  return kExitUsage;
}

}  // namespace
}  // namespace vindex::cli

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const int code = vindex::cli::Run(argc, argv);
  // Ranks may end with different codes (only rank 0 reports): the job's
  // status is the worst.
  int worst = code;
  MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
