// A sharded index loaded whole into one process: an Index over its shards
// whose searches merge the shards' answers.

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "shard_loading.h"
#include "vindex/mpi/distributed.h"

namespace vindex::mpi {
namespace {

// Owns its shards; immutable after loading, so all methods are safe to call
// concurrently (the shards' own searches are).
class ShardSetIndex final : public Index {
 public:
  ShardSetIndex(ShardManifest manifest,
                std::vector<std::unique_ptr<Index>> shards)
      : manifest_(std::move(manifest)), shards_(std::move(shards)) {}

  IndexInfo info() const override {
    IndexInfo info;
    info.family = manifest_.family;
    info.metric = manifest_.metric;
    info.dim = manifest_.dim;
    info.trained = true;
    info.description = manifest_.description;
    for (const auto& s : shards_) {
      const IndexInfo i = s->info();
      info.size += i.size;
      info.memory_bytes += i.memory_bytes;
      info.memory_mapped = info.memory_mapped || i.memory_mapped;
    }
    return info;
  }
  Capabilities capabilities() const override {
    Capabilities c = shards_.front()->capabilities();
    c.needs_training = false;
    c.remove = false;
    c.add_during_search = false;
    return c;
  }
  absl::Status Train(MatrixView<const float>, Executor*) override {
    return ReadOnly();
  }
  absl::Status Add(MatrixView<const float>, absl::Span<const int64_t>,
                   Executor*) override {
    return ReadOnly();
  }
  absl::Status Remove(absl::Span<const int64_t>) override { return ReadOnly(); }
  absl::Status Save(Writer&) const override {
    return absl::UnimplementedError(
        "a sharded index is saved by its distributed build, shard by shard");
  }
  absl::Status GetVectors(absl::Span<const int64_t> ids,
                          MatrixView<float> out) const override {
    // Each id is in exactly one shard.
    for (size_t i = 0; i < ids.size(); ++i) {
      absl::Status last = absl::NotFoundError(
          absl::StrCat("id ", ids[i], " is not in the index"));
      for (const auto& s : shards_) {
        MatrixView<float> row(out.row(i), 1, out.cols, out.row_stride());
        absl::Status st = s->GetVectors(absl::MakeConstSpan(&ids[i], 1), row);
        if (st.ok() || !absl::IsNotFound(st)) {
          last = st;
          break;
        }
      }
      if (!last.ok()) return last;
    }
    return absl::OkStatus();
  }

  absl::Status Search(MatrixView<const float> queries,
                      const SearchParams& params, SearchOutput out,
                      Executor* executor) const override {
    const int k = params.k;
    if (k < 1 || k > SearchParams::kMaxK || out.ids.rows != queries.rows ||
        out.distances.rows != queries.rows || out.ids.cols < k ||
        out.distances.cols < k) {
      return absl::InvalidArgumentError(
          "search output must have one row per query and k columns");
    }
    const int64_t nq = queries.rows;
    std::vector<std::vector<int64_t>> ids(shards_.size());
    std::vector<std::vector<float>> dists(shards_.size());
    std::vector<const int64_t*> pid;
    std::vector<const float*> pd;
    for (size_t s = 0; s < shards_.size(); ++s) {
      ids[s].assign(nq * k, -1);
      dists[s].assign(nq * k, 0.0f);
      if (shards_[s]->info().size == 0) continue;  // Answers nothing.
      absl::Status st = shards_[s]->Search(
          queries, params,
          SearchOutput{MatrixView<int64_t>(ids[s].data(), nq, k),
                       MatrixView<float>(dists[s].data(), nq, k)},
          executor);
      if (!st.ok()) return st;
      pid.push_back(ids[s].data());
      pd.push_back(dists[s].data());
    }
    MergeTopK(manifest_.metric, nq, k, pid, pd, out);
    return absl::OkStatus();
  }

 private:
  static absl::Status ReadOnly() {
    return absl::FailedPreconditionError("a loaded sharded index is read-only");
  }
  ShardManifest manifest_;
  std::vector<std::unique_ptr<Index>> shards_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Index>> LoadShardedIndex(
    const std::string& dir, const LoadOptions& load) {
  absl::StatusOr<ShardManifest> manifest = ReadManifest(dir);
  if (!manifest.ok()) return manifest.status();
  std::vector<std::unique_ptr<Index>> shards;
  for (size_t s = 0; s < manifest->shards.size(); ++s) {
    absl::StatusOr<std::unique_ptr<Index>> shard =
        internal::LoadShard(dir, *manifest, static_cast<int>(s), load);
    if (!shard.ok()) return shard.status();
    shards.push_back(*std::move(shard));
  }
  return std::make_unique<ShardSetIndex>(*std::move(manifest),
                                         std::move(shards));
}

}  // namespace vindex::mpi
