#ifndef VINDEX_INSPECT_H_
#define VINDEX_INSPECT_H_

// Inspection of a saved index file without building the index: the header,
// then each section's tag, place, length and checksum. For tools that report
// on files (`vindex info`); LoadIndex is what checks a file before use.
//
// The file is untrusted input: every declared length is checked against the
// bytes that remain before it is read, and memory use stays bounded (one
// buffer of a fixed size) whatever the file declares.
// Thread safety: InspectIndexFile may be called from any number of threads.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vindex/options.h"

namespace vindex {

// The fixed header at the start of every saved index file.
struct IndexFileHeader {
  uint32_t format_version = 0;
  IndexFamily family = IndexFamily::kFlat;
  uint32_t dim = 0;
  Metric metric = Metric::kL2;
  uint64_t count = 0;  // Vectors the index held when it was saved.
};

// One section of the file, as found on disk.
struct IndexFileSection {
  std::string tag;      // Four characters, e.g. "VECS"; "END_" ends the file.
  uint64_t offset = 0;  // Of the section header, from the start of the file.
  uint64_t length = 0;  // Payload bytes.
  uint32_t stored_crc32c = 0;    // The checksum the file carries.
  uint32_t computed_crc32c = 0;  // The checksum of the payload as read.
  bool checksum_ok() const { return stored_crc32c == computed_crc32c; }
};

struct IndexFileReport {
  uint64_t file_bytes = 0;
  IndexFileHeader header;
  std::vector<IndexFileSection> sections;  // The end marker included.
  // A rotated index (header.family kRotated) holds its inner index's whole
  // container after its rotation section: this is that container's header
  // (its sections follow the rotation's in `sections`).
  std::optional<IndexFileHeader> inner_header;
  bool complete = false;  // The end marker was found and nothing follows.
  // Empty when every section is sound; else what is wrong with the file (the
  // first problem found).
  std::string problem;
};

// Reads the file at `path` and reports what it holds. Errors opening the file
// (NotFound, ...) or reading its header (DataLoss for a file that is not a
// vindex index or a damaged header, FailedPrecondition for a format newer
// than this library's) are returned, naming the path; a bad
// section stops the walk and is described in IndexFileReport::problem, with
// the sections before it still reported.
absl::StatusOr<IndexFileReport> InspectIndexFile(const std::string& path);

}  // namespace vindex

#endif  // VINDEX_INSPECT_H_
