#ifndef VINDEX_MPI_MANIFEST_H_
#define VINDEX_MPI_MANIFEST_H_

// The manifest of a sharded index: which shard files make up the index and
// what each must hold. A sharded index is a folder of shard files (each an
// ordinary vindex index file holding part of the vectors) and one manifest,
// MANIFEST, written last and atomically (temporary file, fsync, rename), so
// it never names a shard that is not completely written. Shard file names
// carry the build's generation, so a new build never overwrites the shards
// the current manifest names.
//
// File layout (little-endian): "VXSHARDS", u32 version, then the fields of
// ShardManifest in order (strings as u32 length + bytes, vectors as u64 count
// + items), then the CRC-32C of everything before it. The bytes are untrusted:
// anything malformed is DataLoss.
//
// Thread safety: free functions; concurrent calls on different folders are
// safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vindex/options.h"

namespace vindex::mpi {

struct ShardFile {
  std::string name;     // File name inside the index folder.
  uint64_t bytes = 0;   // Its size.
  uint32_t crc32c = 0;  // CRC-32C of the whole file.
  int64_t vectors = 0;  // Vectors it holds.
};

struct ShardManifest {
  static constexpr uint32_t kVersion = 1;
  uint64_t generation = 0;  // Increases with each build into the folder.
  IndexFamily family = IndexFamily::kFlat;
  int dim = 0;
  Metric metric = Metric::kL2;
  std::string description;  // Factory string of every shard.
  int64_t total_vectors = 0;
  // IVF: list -> shard that holds all of it (nlist entries). Empty for
  // families sharded by id range.
  std::vector<int32_t> list_shard;
  // Flat, HNSW: shard s holds ids [id_begin[s], id_begin[s + 1]). Empty for
  // IVF.
  std::vector<int64_t> id_begin;
  std::vector<ShardFile> shards;  // One per shard, in shard order.
};

inline constexpr char kManifestName[] = "MANIFEST";

std::string EncodeManifest(const ShardManifest& manifest);
absl::StatusOr<ShardManifest> DecodeManifest(std::string_view bytes);

// Writes `bytes` to `path` atomically (temporary file in the same folder,
// fsync, rename, fsync of the folder).
absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view bytes);
// Reads a whole file (NotFound naming it when missing).
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

absl::Status WriteManifest(const std::string& dir,
                           const ShardManifest& manifest);
absl::StatusOr<ShardManifest> ReadManifest(const std::string& dir);

// The name of shard `shard` of `count` in generation `generation`.
std::string ShardFileName(uint64_t generation, int shard, int count);

// Checks a shard file's bytes against its manifest entry (DataLoss naming
// the file when the size or checksum differs).
absl::Status CheckShardBytes(const ShardFile& entry, std::string_view bytes);

}  // namespace vindex::mpi

#endif  // VINDEX_MPI_MANIFEST_H_
