// LoadIndex: reads the container header and hands the sections to the
// family's loader; plus atomic save to and load from files.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/allocation.h"
#include "core/status_macros.h"
#include "index/flat/flat_index.h"
#include "index/hnsw/hnsw_index.h"
#include "index/ivf/ivf_flat_index.h"
#include "index/ivf/ivf_pq_index.h"
#include "index/rotation/rotated_index.h"
#include "io/format.h"
#include "vindex/index.h"

namespace vindex {

namespace {

// `rotated_ok`: whether a rotated index may be read here (not behind
// another rotation).
absl::StatusOr<std::unique_ptr<Index>> LoadFamily(Reader& reader,
                                                  bool rotated_ok) {
  io::ContainerReader container(reader);
  VINDEX_ASSIGN_OR_RETURN(io::FileHeader header, container.ReadHeader());
  switch (header.family) {
    case IndexFamily::kRotated:
      if (!rotated_ok) {
        return absl::DataLossError("a rotated index inside a rotated index");
      }
      return RotatedIndex::Load(header, container, reader, [](Reader& inner) {
        return LoadFamily(inner, /*rotated_ok=*/false);
      });
    case IndexFamily::kFlat:
      return FlatIndex::Load(header, container);
    case IndexFamily::kIvfFlat:
      return IvfFlatIndex::Load(header, container);
    case IndexFamily::kIvfPq:
      return IvfPqIndex::Load(header, container);
    case IndexFamily::kHnsw:
      return HnswIndex::Load(header, container);
  }
  return absl::UnimplementedError(
      absl::StrCat("this build cannot load ",
                   internal::Sv(IndexFamilyName(header.family)), " indexes"));
}

}  // namespace

// The family loaders size every allocation from lengths already checked
// against the bytes read (see kLoadAllocationFactor), so a failure here is a
// real shortage of memory, reported rather than thrown.
absl::StatusOr<std::unique_ptr<Index>> LoadIndex(Reader& reader) {
  absl::StatusOr<std::unique_ptr<Index>> index;
  VINDEX_RETURN_IF_ERROR(internal::TryAllocate("loading an index", [&] {
    index = LoadFamily(reader, /*rotated_ok=*/true);
  }));
  return index;
}

absl::Status SaveIndexToFile(const Index& index, const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  // The temporary lives in the destination's folder so rename() is atomic.
  const std::string tmp =
      absl::StrCat(path, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
  absl::Status status;
  {
    auto writer = FileWriter::Create(tmp);
    if (!writer.ok()) return writer.status();
    status = index.Save(**writer);
    if (status.ok()) status = (*writer)->Close();  // Flushes and fsyncs.
  }
  if (status.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    status = absl::UnavailableError(
        absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  if (!status.ok()) {
    std::remove(tmp.c_str());
    return status;
  }
  // Make the rename itself durable.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<std::unique_ptr<Index>> LoadFile(const std::string& path,
                                                const LoadOptions& options) {
  if (options.memory_map) {
    VINDEX_ASSIGN_OR_RETURN(std::unique_ptr<MappedFileReader> reader,
                            MappedFileReader::Open(path));
    return LoadIndex(*reader);
  }
  VINDEX_ASSIGN_OR_RETURN(std::unique_ptr<FileReader> reader,
                          FileReader::Open(path));
  return LoadIndex(*reader);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Index>> LoadIndexFromFile(
    const std::string& path, const LoadOptions& options) {
  absl::StatusOr<std::unique_ptr<Index>> index;
  VINDEX_RETURN_IF_ERROR(internal::TryAllocate(
      "loading", path, [&] { index = LoadFile(path, options); }));
  return index;
}

}  // namespace vindex
