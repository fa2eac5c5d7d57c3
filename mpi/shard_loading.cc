#include "shard_loading.h"

#include "absl/strings/str_cat.h"

namespace vindex::mpi::internal {

absl::StatusOr<std::unique_ptr<Index>> LoadShard(const std::string& dir,
                                                 const ShardManifest& manifest,
                                                 int shard,
                                                 const LoadOptions& load) {
  if (shard < 0 || shard >= static_cast<int>(manifest.shards.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no shard ", shard, " in a manifest of ", manifest.shards.size()));
  }
  const ShardFile& entry = manifest.shards[shard];
  const std::string path = absl::StrCat(dir, "/", entry.name);
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  if (absl::Status s = CheckShardBytes(entry, *bytes); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<Index>> index;
  if (load.memory_map) {
    bytes->clear();
    bytes->shrink_to_fit();
    index = LoadIndexFromFile(path, load);
  } else {
    MemoryReader reader(*bytes);
    index = LoadIndex(reader);
  }
  if (!index.ok()) {
    return absl::Status(
        index.status().code(),
        absl::StrCat("shard ", entry.name, ": ", index.status().message()));
  }
  const IndexInfo info = (*index)->info();
  if (info.family != manifest.family || info.dim != manifest.dim ||
      info.metric != manifest.metric || info.size != entry.vectors) {
    return absl::DataLossError(absl::StrCat(
        "shard ", entry.name, " does not match its manifest entry"));
  }
  return index;
}

}  // namespace vindex::mpi::internal
