#ifndef VINDEX_MPI_SHARD_LOADING_H_
#define VINDEX_MPI_SHARD_LOADING_H_

// Loading one shard of a sharded index, checked against its manifest entry.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "vindex/index.h"
#include "vindex/mpi/manifest.h"

namespace vindex::mpi::internal {

// Reads shard `shard` of `manifest` from `dir`: its size and checksum must
// match the manifest (DataLoss otherwise), and the index it holds must have
// the manifest's family, dim, metric and vector count.
absl::StatusOr<std::unique_ptr<Index>> LoadShard(const std::string& dir,
                                                 const ShardManifest& manifest,
                                                 int shard,
                                                 const LoadOptions& load);

}  // namespace vindex::mpi::internal

#endif  // VINDEX_MPI_SHARD_LOADING_H_
