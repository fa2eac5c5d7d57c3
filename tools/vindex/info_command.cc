// `vindex info`: shows a saved index's header and sections, verifying every
// checksum, then loads it.

#include <cinttypes>
#include <cstdio>
#include <string>

#include "command_flags.h"
#include "command_support.h"
#include "commands.h"
#include "vindex/inspect.h"
#include "vindex/vindex.h"

namespace vindex::cli {

CommandSpec InfoSpec() {
  return CommandSpec{
      "info",
      "Shows an index file's header and sections, verifying every "
      "checksum.",
      "vindex info INDEX [--mmap]",
      "",
      {kMmap},
      1,
      1};
}

int RunInfo(const Args& args, UsageError* usage) {
  (void)usage;
  const std::string path = args.positional()[0];
  auto report = InspectIndexFile(path);
  if (!report.ok()) return Fail("info", WithPath(report.status(), path));
  const IndexFileHeader& h = report->header;
  std::printf("file:        %s (%" PRIu64 " bytes)\n", path.c_str(),
              report->file_bytes);
  std::printf("format:      version %u\n", h.format_version);
  std::printf("family:      %s\n",
              std::string(IndexFamilyName(h.family)).c_str());
  std::printf("dim:         %u\n", h.dim);
  std::printf("metric:      %s\n", std::string(MetricName(h.metric)).c_str());
  std::printf("count:       %" PRIu64 "\n", h.count);
  if (report->inner_header.has_value()) {
    std::printf(
        "inner:       %s (its container follows the rotation)\n",
        std::string(IndexFamilyName(report->inner_header->family)).c_str());
  }
  std::printf("sections:\n  %-5s %12s %14s  %-10s %s\n", "tag", "offset",
              "length", "crc32c", "check");
  for (const IndexFileSection& s : report->sections) {
    std::printf("  %-5s %12" PRIu64 " %14" PRIu64 "  %08x   %s\n",
                s.tag.c_str(), s.offset, s.length, s.stored_crc32c,
                s.checksum_ok() ? "ok" : "MISMATCH");
  }
  if (!report->problem.empty()) {
    return Fail("info", path + ": " + report->problem);
  }
  auto index = OpenIndex(path, args.Has("mmap"));
  if (!index.ok()) return Fail("info", index.status());
  const IndexInfo info = (*index)->info();
  std::printf("index:       %s, %" PRId64 " vectors, %s in memory%s\n",
              info.description.c_str(), info.size,
              FormatBytes(static_cast<double>(info.memory_bytes)).c_str(),
              info.memory_mapped ? " (memory-mapped)" : "");
  std::printf("status:      ok (all checksums verified, loads)\n");
  return kExitOk;
}

}  // namespace vindex::cli
