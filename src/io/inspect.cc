// Walks a saved index file section by section for InspectIndexFile.

#include "vindex/inspect.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "io/crc32c.h"
#include "io/format.h"
#include "vindex/io.h"

namespace vindex {

absl::StatusOr<IndexFileReport> InspectIndexFile(const std::string& path) {
  auto reader = FileReader::Open(path);
  if (!reader.ok()) return reader.status();
  Reader& r = **reader;
  IndexFileReport report;
  report.file_bytes = r.remaining();
  io::ContainerReader container(r);
  auto header = container.ReadHeader();
  if (!header.ok()) {
    return absl::Status(header.status().code(),
                        absl::StrCat(path, ": ", header.status().message()));
  }
  report.header = IndexFileHeader{.format_version = header->version,
                                  .family = header->family,
                                  .dim = header->dim,
                                  .metric = header->metric,
                                  .count = header->count};
  auto to_report = [](const io::FileHeader& h) {
    return IndexFileHeader{.format_version = h.version,
                           .family = h.family,
                           .dim = h.dim,
                           .metric = h.metric,
                           .count = h.count};
  };
  std::vector<char> buffer(1 << 20);
  while (true) {
    IndexFileSection s;
    s.offset = report.file_bytes - r.remaining();
    if (r.remaining() == 0) {
      report.problem = "file ends without an end marker";
      break;
    }
    char head[16];
    if (r.remaining() < sizeof(head) + 4) {
      report.problem =
          absl::StrCat("truncated section header at offset ", s.offset);
      break;
    }
    if (auto st = r.Read(head, sizeof(head)); !st.ok()) {
      report.problem = std::string(st.message());
      break;
    }
    uint32_t tag, reserved;
    std::memcpy(&tag, head, 4);
    std::memcpy(&reserved, head + 4, 4);
    std::memcpy(&s.length, head + 8, 8);
    s.tag = io::TagName(tag);
    if (reserved != 0) {
      report.problem =
          absl::StrCat("section ", s.tag, " has a bad reserved field");
      break;
    }
    if (s.length > r.remaining() - 4) {
      report.problem =
          absl::StrCat("section ", s.tag, " declares ", s.length,
                       " bytes but only ", r.remaining() - 4, " remain");
      break;
    }
    uint32_t crc = 0;
    uint64_t left = s.length;
    bool failed = false;
    while (left > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
      if (auto st = r.Read(buffer.data(), n); !st.ok()) {
        report.problem = std::string(st.message());
        failed = true;
        break;
      }
      crc = io::Crc32c(crc, buffer.data(), n);
      left -= n;
    }
    if (failed) break;
    if (auto st = r.Read(&s.stored_crc32c, 4); !st.ok()) {
      report.problem = std::string(st.message());
      break;
    }
    s.computed_crc32c = crc;
    report.sections.push_back(s);
    if (!s.checksum_ok() && report.problem.empty()) {
      report.problem = absl::StrCat("section ", s.tag, " checksum mismatch");
    }
    if (tag == io::kTagRotation && header->family == IndexFamily::kRotated &&
        !report.inner_header.has_value()) {
      io::ContainerReader inner(r);
      auto inner_header = inner.ReadHeader();
      if (!inner_header.ok()) {
        report.problem =
            absl::StrCat("inner index: ", inner_header.status().message());
        break;
      }
      report.inner_header = to_report(*inner_header);
      continue;
    }
    if (tag == io::kTagEnd) {
      if (s.length != 0) {
        report.problem = "end marker has a payload";
      } else if (r.remaining() != 0) {
        report.problem = absl::StrCat(r.remaining(),
                                      " unexpected bytes after the end marker");
      } else {
        report.complete = true;
      }
      break;
    }
  }
  return report;
}

}  // namespace vindex
