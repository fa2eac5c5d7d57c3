// InspectIndexFile: the header and every section of a saved file, checksum
// mismatches and damaged files reported, not crashed on.
#include "vindex/inspect.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"
#include "vindex/index.h"

namespace vindex {
namespace {

// Saves a small Flat index and returns the file's bytes.
std::vector<char> SaveFlat(const std::string& path) {
  auto index = MakeIndex("Flat", 8, Metric::kInnerProduct);
  EXPECT_TRUE(index.ok());
  const std::vector<float> base = testing::RandomVectors(50, 8, 3);
  EXPECT_TRUE((*index)
                  ->Add(MatrixView<const float>(base.data(), 50, 8),
                        testing::SequentialIds(50))
                  .ok());
  EXPECT_TRUE(SaveIndexToFile(**index, path).ok());
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(InspectIndexFile, ReportsTheHeaderAndEverySection) {
  const std::string path = ::testing::TempDir() + "/inspect_sound.vindex";
  const std::vector<char> bytes = SaveFlat(path);
  auto report = InspectIndexFile(path);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->file_bytes, bytes.size());
  EXPECT_GE(report->header.format_version, 1u);
  EXPECT_EQ(report->header.family, IndexFamily::kFlat);
  EXPECT_EQ(report->header.dim, 8u);
  EXPECT_EQ(report->header.metric, Metric::kInnerProduct);
  EXPECT_EQ(report->header.count, 50u);
  EXPECT_TRUE(report->complete);
  EXPECT_EQ(report->problem, "");
  ASSERT_GE(report->sections.size(), 2u);
  EXPECT_EQ(report->sections.back().tag, "END_");
  uint64_t payload = 0;
  for (const IndexFileSection& s : report->sections) {
    EXPECT_TRUE(s.checksum_ok()) << s.tag;
    EXPECT_EQ(s.tag.size(), 4u);
    payload += s.length;
  }
  // 50 vectors of 8 floats live in some section.
  EXPECT_GE(payload, 50u * 8 * sizeof(float));
  // Sections follow one another: each starts after the one before it.
  for (size_t i = 1; i < report->sections.size(); ++i) {
    EXPECT_GT(report->sections[i].offset, report->sections[i - 1].offset);
  }
  std::remove(path.c_str());
}

TEST(InspectIndexFile, AFlippedPayloadByteIsAChecksumMismatch) {
  const std::string path = ::testing::TempDir() + "/inspect_flipped.vindex";
  std::vector<char> bytes = SaveFlat(path);
  auto sound = InspectIndexFile(path);
  ASSERT_TRUE(sound.ok()) << sound.status();
  // Damage the last byte of the largest section's payload.
  const IndexFileSection* largest = &sound->sections[0];
  for (const IndexFileSection& s : sound->sections) {
    if (s.length > largest->length) largest = &s;
  }
  const std::string tag = largest->tag;
  bytes[largest->offset + 16 + largest->length - 1] ^= 0x20;
  WriteBytes(path, bytes);
  auto report = InspectIndexFile(path);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_NE(report->problem.find(tag), std::string::npos) << report->problem;
  EXPECT_NE(report->problem.find("checksum"), std::string::npos);
  int mismatches = 0;
  for (const IndexFileSection& s : report->sections) {
    if (!s.checksum_ok()) {
      ++mismatches;
      EXPECT_EQ(s.tag, tag);
    }
  }
  EXPECT_EQ(mismatches, 1);
  std::remove(path.c_str());
}

TEST(InspectIndexFile, ATruncatedFileIsAProblemNotACrash) {
  const std::string path = ::testing::TempDir() + "/inspect_truncated.vindex";
  const std::vector<char> bytes = SaveFlat(path);
  auto sound = InspectIndexFile(path);
  ASSERT_TRUE(sound.ok()) << sound.status();
  const uint64_t second = sound->sections[1].offset;
  // Cut inside the second section's header, then inside its payload.
  for (uint64_t keep : {second + 7, second + 16 + 3}) {
    WriteBytes(path, std::vector<char>(bytes.begin(), bytes.begin() + keep));
    auto report = InspectIndexFile(path);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_FALSE(report->complete) << keep;
    EXPECT_NE(report->problem, "") << keep;
    EXPECT_EQ(report->sections.size(), 1u) << keep;
  }
  std::remove(path.c_str());
}

TEST(InspectIndexFile, AMissingOrForeignFileIsAnError) {
  const std::string missing = ::testing::TempDir() + "/inspect_missing.vindex";
  std::remove(missing.c_str());
  EXPECT_EQ(InspectIndexFile(missing).status().code(),
            absl::StatusCode::kNotFound);
  const std::string foreign = ::testing::TempDir() + "/inspect_foreign.vindex";
  WriteBytes(foreign, std::vector<char>(200, 'x'));
  auto report = InspectIndexFile(foreign);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(report.status().message().find(foreign), std::string::npos);
  std::remove(foreign.c_str());
}

}  // namespace
}  // namespace vindex
