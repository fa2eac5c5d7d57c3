// A rank killed while a new build writes its shards: the previous manifest
// and its shards stay usable. Run in two steps (ctest fixtures):
//   mpirun -np 2 mpi_killed_build_test build DIR   (killed: expected to fail)
//   mpirun -np 1 mpi_killed_build_test check DIR
// `build` writes generation 1 completely, then starts generation 2, and
// rank 1 kills itself once its new shard is written (before the manifest).
// `check` loads DIR in one process: generation 1, every vector, searchable.

#include <mpi.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "vindex/mpi/distributed.h"

namespace {

constexpr int kDim = 8;
constexpr int64_t kRows = 600;

std::vector<float> Data() {
  std::vector<float> x(kRows * kDim);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>((i * 2654435761u) % 1000) / 100.0f;
  return x;
}

int Fail(const char* what, const absl::Status& s) {
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  if (argc != 3) return 2;
  const std::string mode = argv[1];
  const std::string dir = argv[2];
  auto comm = vindex::mpi::Communicator::Create();
  if (!comm.ok()) return Fail("communicator", comm.status());
  const std::vector<float> data = Data();
  const vindex::IndexSpec spec = vindex::IvfFlatOptions{
      .ivf = {.dim = kDim, .nlist = 8, .kmeans_iterations = 3}};
  int rc = 0;
  if (mode == "build") {
    const int r = comm->rank(), p = comm->size();
    const int64_t b = kRows * r / p, e = kRows * (r + 1) / p;
    std::vector<int64_t> ids;
    for (int64_t i = b; i < e; ++i) ids.push_back(i);
    vindex::MatrixView<const float> mine(data.data() + b * kDim, e - b, kDim);
    if (r == 0) std::filesystem::remove_all(dir);
    if (absl::Status s =
            vindex::mpi::BuildShardedIndex(*comm, spec, mine, ids, dir);
        !s.ok()) {
      return Fail("first build", s);
    }
    // The new build holds other vectors, so its shards differ from the old.
    std::vector<float> moved = data;
    for (float& v : moved) v += 1.0f;
    vindex::MatrixView<const float> mine2(moved.data() + b * kDim, e - b, kDim);
    vindex::mpi::ShardedBuildOptions kill;
    kill.after_shard_written = [&] {
      if (comm->rank() == 1 || comm->size() == 1) std::raise(SIGKILL);
    };
    vindex::mpi::BuildShardedIndex(*comm, spec, mine2, ids, dir, kill)
        .IgnoreError();
    rc = 3;  // Never reached: the job dies with rank 1.
  } else {
    auto m = vindex::mpi::ReadManifest(dir);
    if (!m.ok()) return Fail("manifest", m.status());
    if (m->generation != 1)
      return Fail("generation", absl::InternalError("not 1"));
    auto index = vindex::mpi::LoadShardedIndex(dir);
    if (!index.ok()) return Fail("load", index.status());
    if ((*index)->info().size != kRows) {
      return Fail("size", absl::InternalError("wrong vector count"));
    }
    std::vector<int64_t> ids(kRows);
    std::vector<float> d(kRows);
    if (absl::Status s = (*index)->Search(
            vindex::MatrixView<const float>(data.data(), kRows, kDim),
            {.k = 1, .nprobe = 8},
            {{ids.data(), kRows, 1}, {d.data(), kRows, 1}});
        !s.ok()) {
      return Fail("search", s);
    }
    for (int64_t i = 0; i < kRows; ++i) {
      // Each row finds itself (GEMM distances may round a 0 up a little).
      if (d[i] > 1e-2f) return Fail("self search", absl::InternalError("miss"));
    }
    std::printf("previous manifest (generation 1) usable: %lld vectors\n",
                static_cast<long long>(kRows));
  }
  MPI_Finalize();
  return rc;
}
