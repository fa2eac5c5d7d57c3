#ifndef VINDEX_SRC_IO_INSPECT_H_
#define VINDEX_SRC_IO_INSPECT_H_

// Walks a saved index file section by section without building the index:
// header fields, then each section's tag, length and checksum. Used by
// `vindex info`.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "io/format.h"

namespace vindex::io {

struct SectionReport {
  std::string tag;      // e.g. "VECS".
  uint64_t offset = 0;  // Of the section header in the file.
  uint64_t length = 0;  // Payload bytes.
  uint32_t stored_crc = 0;
  uint32_t computed_crc = 0;
  bool checksum_ok() const { return stored_crc == computed_crc; }
};

struct FileReport {
  uint64_t file_bytes = 0;
  FileHeader header;
  std::vector<SectionReport> sections;  // The end marker included.
  bool complete = false;  // The end marker was found and nothing follows.
  // Empty when the file is sound; else what is wrong with it (DataLoss text).
  std::string problem;
};

// Reads `path` and reports what it holds. Errors opening the file or reading
// its header are returned; a bad section stops the walk and is described in
// FileReport::problem (the sections before it are still reported).
absl::StatusOr<FileReport> InspectIndexFile(const std::string& path);

}  // namespace vindex::io

#endif  // VINDEX_SRC_IO_INSPECT_H_
