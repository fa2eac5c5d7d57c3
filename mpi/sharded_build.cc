// Distributed build: training across ranks, list exchange, shard files and
// the manifest.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <variant>

#include "absl/strings/str_cat.h"
#include "agree_macros.h"
#include "core/validate.h"
#include "io/crc32c.h"
#include "vindex/ivf_quantizer.h"
#include "vindex/mpi/distributed.h"
#include "vindex/vector_files.h"

namespace vindex::mpi {

absl::Status RowOffsets(Communicator& comm, int64_t my_rows, int64_t* first,
                        int64_t* total);

namespace {

const IvfCommonOptions* IvfOf(const IndexSpec& spec) {
  if (const auto* f = std::get_if<IvfFlatOptions>(&spec)) return &f->ivf;
  if (const auto* p = std::get_if<IvfPqOptions>(&spec)) return &p->ivf;
  return nullptr;
}

int SpecDim(const IndexSpec& spec) {
  return std::visit(
      [](const auto& o) -> int {
        if constexpr (requires { o.ivf; }) {
          return o.ivf.dim;
        } else {
          return o.dim;
        }
      },
      spec);
}

// Lists to shards: largest list first, each to the shard holding the fewest
// vectors so far (ties: lower shard). Every rank computes the same map.
std::vector<int32_t> AssignListsToShards(const std::vector<int64_t>& sizes,
                                         int shards) {
  std::vector<int32_t> order(sizes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return sizes[a] > sizes[b]; });
  std::vector<int64_t> load(shards, 0);
  std::vector<int32_t> owner(sizes.size(), 0);
  for (int32_t l : order) {
    const int s = static_cast<int>(std::min_element(load.begin(), load.end()) -
                                   load.begin());
    owner[l] = s;
    load[s] += sizes[l];
  }
  return owner;
}

void Progress(const Communicator& comm, const ShardedBuildOptions& options,
              std::string_view line) {
  if (comm.rank() == 0 && options.progress) options.progress(line);
}

// Trains `index` (IVF) from the first options.train_rows rows of the whole
// input: the coarse centroids by distributed k-means; IVF-PQ's codebooks on
// rank 0 from the gathered sample, then the trained index is broadcast.
absl::Status TrainIvf(Communicator& comm, const IndexSpec& spec,
                      const IvfCommonOptions& ivf,
                      MatrixView<const float> my_rows, int64_t first,
                      int64_t total, const ShardedBuildOptions& options,
                      std::unique_ptr<Index>* index, Executor* executor) {
  const int64_t train_rows =
      options.train_rows > 0 ? std::min(options.train_rows, total) : total;
  const int64_t mine = std::clamp<int64_t>(train_rows - first, 0, my_rows.rows);
  MatrixView<const float> sample(my_rows.data, mine, my_rows.cols,
                                 my_rows.row_stride());
  Progress(comm, options,
           absl::StrCat("training ", ivf.nlist, " coarse centroids on ",
                        train_rows, " rows"));
  absl::StatusOr<std::vector<float>> centroids =
      TrainIvfCentroids(comm, ivf, sample, executor);
  if (!centroids.ok()) return centroids.status();
  MatrixView<const float> cv(centroids->data(), ivf.nlist, ivf.dim);
  if (std::holds_alternative<IvfFlatOptions>(spec)) {
    VINDEX_AGREE_OR_RETURN(comm,
                           TrainIvfWithCentroids(**index, cv, {}, executor));
    return absl::OkStatus();
  }
  // IVF-PQ: the codebooks from the whole sample, trained once.
  std::string rows_bytes;
  for (int64_t i = 0; i < mine; ++i) {
    rows_bytes.append(reinterpret_cast<const char*>(sample.row(i)),
                      sizeof(float) * ivf.dim);
  }
  std::string all;
  VINDEX_RETURN_IF_ERROR(comm.GatherBytes(rows_bytes, 0, &all));
  std::string trained;
  absl::Status local;
  if (comm.rank() == 0) {
    Progress(comm, options, "training the product quantizer on rank 0");
    MatrixView<const float> whole(reinterpret_cast<const float*>(all.data()),
                                  train_rows, ivf.dim);
    local = TrainIvfWithCentroids(**index, cv, whole, executor);
    if (local.ok()) {
      StringWriter w(&trained);
      local = (*index)->Save(w);
    }
  }
  VINDEX_AGREE_OR_RETURN(comm, local);
  VINDEX_RETURN_IF_ERROR(comm.BroadcastString(&trained, 0));
  if (comm.rank() != 0) {
    MemoryReader r(trained);
    absl::StatusOr<std::unique_ptr<Index>> loaded = LoadIndex(r);
    local = loaded.status();
    if (loaded.ok()) *index = std::move(*loaded);
  }
  VINDEX_AGREE_OR_RETURN(comm, local);
  return absl::OkStatus();
}

// Sends every row, with its list, to the shard that owns that list; returns
// what this shard received, in global row order (so the shard adds them to
// their lists without assigning them again).
absl::Status ExchangeByList(Communicator& comm, const Index& index,
                            MatrixView<const float> my_rows,
                            absl::Span<const int64_t> my_ids, int nlist,
                            std::vector<int32_t>* list_shard,
                            std::vector<float>* rows, std::vector<int64_t>* ids,
                            std::vector<int32_t>* row_lists,
                            Executor* executor) {
  const int64_t d = my_rows.cols;
  std::vector<int32_t> lists(my_rows.rows);
  VINDEX_AGREE_OR_RETURN(
      comm, AssignIvfLists(index, my_rows, absl::MakeSpan(lists), executor));
  std::vector<int64_t> sizes(nlist, 0);
  for (int32_t l : lists) ++sizes[l];
  VINDEX_RETURN_IF_ERROR(comm.SumInt64(absl::MakeSpan(sizes)));
  *list_shard = AssignListsToShards(sizes, comm.size());
  // Per destination: (id, list, dim floats) per row, in row order.
  const size_t record = sizeof(int64_t) + sizeof(int32_t) + d * sizeof(float);
  std::vector<std::string> send(comm.size());
  {
    std::vector<size_t> bytes(comm.size(), 0);
    for (int32_t l : lists) bytes[(*list_shard)[l]] += record;
    for (int r = 0; r < comm.size(); ++r) send[r].reserve(bytes[r]);
  }
  for (int64_t i = 0; i < my_rows.rows; ++i) {
    std::string& out = send[(*list_shard)[lists[i]]];
    out.append(reinterpret_cast<const char*>(&my_ids[i]), sizeof(int64_t));
    out.append(reinterpret_cast<const char*>(&lists[i]), sizeof(int32_t));
    out.append(reinterpret_cast<const char*>(my_rows.row(i)),
               d * sizeof(float));
  }
  std::vector<std::string> recv;
  VINDEX_RETURN_IF_ERROR(comm.AllToAllBytes(send, &recv));
  send.clear();
  int64_t n = 0;
  for (const std::string& r : recv) n += r.size() / record;
  rows->resize(n * d);
  ids->resize(n);
  row_lists->resize(n);
  int64_t at = 0;
  for (const std::string& r : recv) {  // Rank order = global row order.
    for (size_t off = 0; off < r.size(); off += record, ++at) {
      std::memcpy(&(*ids)[at], r.data() + off, sizeof(int64_t));
      std::memcpy(&(*row_lists)[at], r.data() + off + sizeof(int64_t),
                  sizeof(int32_t));
      std::memcpy(rows->data() + at * d,
                  r.data() + off + sizeof(int64_t) + sizeof(int32_t),
                  d * sizeof(float));
    }
  }
  return absl::OkStatus();
}

absl::Status MakeFolder(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return absl::OkStatus();
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("cannot create the index folder ", dir));
}

void RemoveUnnamedShards(const std::string& dir, const ShardManifest& keep) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("shard-g", 0) != 0) continue;
    bool named = false;
    for (const ShardFile& f : keep.shards) named = named || f.name == name;
    if (!named) std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace

absl::Status BuildShardedIndex(Communicator& comm, const IndexSpec& spec,
                               MatrixView<const float> my_rows,
                               absl::Span<const int64_t> my_ids,
                               const std::string& dir,
                               const ShardedBuildOptions& options,
                               Executor* executor) {
  const int dim = SpecDim(spec);
  absl::Status local =
      internal::CheckMatrix(my_rows, dim, "vector", /*allow_empty=*/true);
  if (local.ok() && static_cast<int64_t>(my_ids.size()) != my_rows.rows) {
    local = absl::InvalidArgumentError(
        absl::StrCat(my_ids.size(), " ids for ", my_rows.rows, " vectors"));
  }
  absl::StatusOr<std::unique_ptr<Index>> made = MakeIndex(spec);
  if (local.ok() && !made.ok()) local = made.status();
  // The folder and the generation (one past the current manifest's).
  uint64_t generation = 1;
  if (local.ok() && comm.rank() == 0) {
    local = MakeFolder(dir);
    if (local.ok()) {
      absl::StatusOr<ShardManifest> old = ReadManifest(dir);
      if (old.ok()) generation = old->generation + 1;
    }
  }
  VINDEX_AGREE_OR_RETURN(comm, local);
  VINDEX_RETURN_IF_ERROR(comm.Broadcast(&generation, sizeof(generation), 0));
  std::unique_ptr<Index> index = std::move(*made);

  int64_t first = 0, total = 0;
  VINDEX_RETURN_IF_ERROR(RowOffsets(comm, my_rows.rows, &first, &total));
  ShardManifest manifest;
  manifest.generation = generation;
  std::vector<float> owned_rows;
  std::vector<int64_t> owned_ids;
  std::vector<int32_t> owned_lists;  // IVF: each owned row's list.
  MatrixView<const float> shard_rows = my_rows;
  absl::Span<const int64_t> shard_ids = my_ids;
  if (const IvfCommonOptions* ivf = IvfOf(spec)) {
    VINDEX_RETURN_IF_ERROR(TrainIvf(comm, spec, *ivf, my_rows, first, total,
                                    options, &index, executor));
    Progress(comm, options, "exchanging inverted lists");
    VINDEX_RETURN_IF_ERROR(ExchangeByList(
        comm, *index, my_rows, my_ids, ivf->nlist, &manifest.list_shard,
        &owned_rows, &owned_ids, &owned_lists, executor));
    shard_rows =
        MatrixView<const float>(owned_rows.data(), owned_ids.size(), dim);
    shard_ids = owned_ids;
  } else {
    // Flat, HNSW: each shard keeps its rank's rows.
    manifest.id_begin.assign(comm.size() + 1, 0);
    std::vector<int64_t> firsts(comm.size(), 0);
    firsts[comm.rank()] = first;
    VINDEX_RETURN_IF_ERROR(comm.SumInt64(absl::MakeSpan(firsts)));
    std::copy(firsts.begin(), firsts.end(), manifest.id_begin.begin());
    manifest.id_begin.back() = total;
    VINDEX_AGREE_OR_RETURN(comm, index->Train(my_rows, executor));
  }
  Progress(comm, options, absl::StrCat("adding ", total, " vectors"));
  if (shard_rows.rows > 0) {
    local = IvfOf(spec) != nullptr
                ? AddIvfWithLists(*index, shard_rows, shard_ids, owned_lists,
                                  executor)
                : index->Add(shard_rows, shard_ids, executor);
  }
  VINDEX_AGREE_OR_RETURN(comm, local);

  // This rank's shard file.
  ShardFile entry;
  entry.name = ShardFileName(generation, comm.rank(), comm.size());
  entry.vectors = index->info().size;
  {
    std::string bytes;
    StringWriter w(&bytes);
    local = index->Save(w);
    if (local.ok()) {
      entry.bytes = bytes.size();
      entry.crc32c = io::Crc32c(0, bytes.data(), bytes.size());
      local = WriteFileAtomically(absl::StrCat(dir, "/", entry.name), bytes);
    }
  }
  if (local.ok() && options.after_shard_written) options.after_shard_written();
  VINDEX_AGREE_OR_RETURN(comm, local);
  Progress(comm, options, "shards written");

  // The manifest, last, on rank 0.
  std::string mine;
  {
    const uint32_t name_len = static_cast<uint32_t>(entry.name.size());
    mine.append(reinterpret_cast<const char*>(&name_len), 4);
    mine.append(entry.name);
    mine.append(reinterpret_cast<const char*>(&entry.bytes), 8);
    mine.append(reinterpret_cast<const char*>(&entry.crc32c), 4);
    mine.append(reinterpret_cast<const char*>(&entry.vectors), 8);
  }
  std::string all;
  VINDEX_RETURN_IF_ERROR(comm.GatherBytes(mine, 0, &all));
  if (comm.rank() == 0) {
    const IndexInfo info = index->info();
    manifest.family = info.family;
    manifest.dim = info.dim;
    manifest.metric = info.metric;
    manifest.description = info.description;
    size_t off = 0;
    for (int r = 0; r < comm.size(); ++r) {
      ShardFile f;
      uint32_t len = 0;
      std::memcpy(&len, all.data() + off, 4);
      off += 4;
      f.name.assign(all.data() + off, len);
      off += len;
      std::memcpy(&f.bytes, all.data() + off, 8);
      std::memcpy(&f.crc32c, all.data() + off + 8, 4);
      std::memcpy(&f.vectors, all.data() + off + 12, 8);
      off += 20;
      manifest.total_vectors += f.vectors;
      manifest.shards.push_back(std::move(f));
    }
    local = WriteManifest(dir, manifest);
    if (local.ok()) {
      // Shards the new manifest does not name (the previous build's, or
      // those of a build that died before its manifest) are garbage now.
      RemoveUnnamedShards(dir, manifest);
    }
  }
  VINDEX_AGREE_OR_RETURN(comm, local);
  Progress(comm, options,
           absl::StrCat("manifest written: ", comm.size(),
                        " shards, generation ", generation));
  return absl::OkStatus();
}

absl::Status BuildShardedIndexFromFile(Communicator& comm,
                                       const IndexSpec& spec,
                                       const std::string& input,
                                       const std::string& dir,
                                       const ShardedBuildOptions& options,
                                       Executor* executor) {
  absl::StatusOr<VectorFileShape> shape = ReadVectorFileShape(input);
  absl::Status local = shape.status();
  if (local.ok() && shape->dim != SpecDim(spec)) {
    local = absl::InvalidArgumentError(absl::StrCat(
        input, ": dimension ", shape->dim, " != index dim ", SpecDim(spec)));
  }
  VINDEX_AGREE_OR_RETURN(comm, local);
  const int64_t n = shape->rows;
  const int64_t begin = n * comm.rank() / comm.size();
  const int64_t end = n * (comm.rank() + 1) / comm.size();
  absl::StatusOr<FloatMatrix> rows =
      ReadFloatVectorRows(input, begin, end - begin);
  VINDEX_AGREE_OR_RETURN(comm, rows.status());
  std::vector<int64_t> ids(end - begin);
  std::iota(ids.begin(), ids.end(), begin);
  return BuildShardedIndex(
      comm, spec,
      MatrixView<const float>(rows->data.data(), rows->rows, rows->cols), ids,
      dir, options, executor);
}

}  // namespace vindex::mpi
