// The container format on its own: round trip, and hostile headers and
// section lengths rejected before anything is allocated.
#include "io/format.h"

#include <cstring>

#include "gtest/gtest.h"
#include "vindex/index.h"

namespace vindex::io {
namespace {

std::string WriteSample(uint32_t version = kFormatVersion) {
  std::string bytes;
  StringWriter sink(&bytes);
  ContainerWriter w(sink);
  FileHeader h;
  h.version = version;
  h.family = IndexFamily::kFlat;
  h.dim = 3;
  h.metric = Metric::kInnerProduct;
  h.count = 7;
  EXPECT_TRUE(w.WriteHeader(h).ok());
  EXPECT_TRUE(w.WriteSection(kTagParams, "hello").ok());
  EXPECT_TRUE(w.Finish().ok());
  return bytes;
}

TEST(Format, RoundTrip) {
  const std::string bytes = WriteSample();
  MemoryReader r(bytes);
  ContainerReader c(r);
  auto h = c.ReadHeader();
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->dim, 3u);
  EXPECT_EQ(h->metric, Metric::kInnerProduct);
  EXPECT_EQ(h->count, 7u);
  auto payload = c.ReadSection(kTagParams, 100);
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(*payload, "hello");
  EXPECT_TRUE(c.ReadEnd().ok());
}

TEST(Format, NewerVersionIsFailedPrecondition) {
  const std::string bytes = WriteSample(kFormatVersion + 1);
  MemoryReader r(bytes);
  auto loaded = LoadIndex(r);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(loaded.status().message().find("newer"), std::string::npos);
}

TEST(Format, WrongMagicIsDataLoss) {
  std::string bytes = WriteSample();
  bytes[0] = 'X';
  MemoryReader r(bytes);
  auto loaded = LoadIndex(r);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(loaded.status().message().find("magic"), std::string::npos);
}

TEST(Format, HugeDeclaredLengthIsRejectedBeforeAllocating) {
  std::string bytes = WriteSample();
  // The first section's length field sits at header + 8.
  const uint64_t huge = uint64_t{1} << 60;
  std::memcpy(bytes.data() + kHeaderBytes + 8, &huge, 8);
  MemoryReader r(bytes);
  ContainerReader c(r);
  ASSERT_TRUE(c.ReadHeader().ok());
  auto payload = c.ReadSection(kTagParams, ~uint64_t{0});
  EXPECT_EQ(payload.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(payload.status().message().find("remain"), std::string::npos);
}

TEST(Format, SectionLimitAndTagAreEnforced) {
  const std::string bytes = WriteSample();
  {
    MemoryReader r(bytes);
    ContainerReader c(r);
    ASSERT_TRUE(c.ReadHeader().ok());
    EXPECT_EQ(c.ReadSection(kTagParams, 2).status().code(),
              absl::StatusCode::kDataLoss);
  }
  {
    MemoryReader r(bytes);
    ContainerReader c(r);
    ASSERT_TRUE(c.ReadHeader().ok());
    auto s = c.ReadSection(kTagVectors, 100).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("VECS"), std::string::npos) << s;
  }
}

// The params payload "hello" is 5 bytes: 5 rows of 1 byte, 1 row of 5.
TEST(Format, ArraySectionShapeIsChecked) {
  const std::string bytes = WriteSample();
  struct Case {
    uint64_t rows, row_bytes;
    bool ok;
  };
  for (const Case& c : {Case{5, 1, true}, Case{1, 5, true}, Case{4, 1, false},
                        Case{2, 2, false}, Case{5, 0, false},
                        // 3 * 6148914691236517207 = 2^64 + 5 wraps to 5.
                        Case{6148914691236517207u, 3, false}}) {
    MemoryReader r(bytes);
    ContainerReader reader(r);
    ASSERT_TRUE(reader.ReadHeader().ok());
    auto length = reader.BeginArraySection(kTagParams, c.rows, c.row_bytes);
    EXPECT_EQ(length.ok(), c.ok) << c.rows << " x " << c.row_bytes;
    if (length.ok()) {
      EXPECT_EQ(*length, 5u);
    } else {
      EXPECT_EQ(length.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_NE(length.status().message().find("PARM"), std::string::npos)
          << length.status();
    }
  }
}

// Found by the fuzzer: zero-length reads and writes may pass a null pointer
// (an empty vector's data()); they must be no-ops, not memcpy(nullptr).
TEST(Format, ZeroLengthReadsAndWritesAcceptNull) {
  MemoryReader r("abc");
  EXPECT_TRUE(r.Read(nullptr, 0).ok());
  EXPECT_EQ(r.remaining(), 3u);
  std::string out;
  StringWriter w(&out);
  EXPECT_TRUE(w.Write(nullptr, 0).ok());
  EXPECT_TRUE(out.empty());
}

TEST(Format, ByteCursorBoundsChecks) {
  ByteBuilder b;
  b.U32(5);
  b.F32(1.5f);
  ByteCursor c(b.bytes(), "params");
  EXPECT_EQ(*c.U32(), 5u);
  EXPECT_EQ(*c.F32(), 1.5f);
  EXPECT_TRUE(c.ExpectEnd().ok());
  EXPECT_EQ(c.U64().status().code(), absl::StatusCode::kDataLoss);
}

// A writer that fails after a byte budget: Save must report the failure.
class FailingWriter : public Writer {
 public:
  explicit FailingWriter(size_t budget) : budget_(budget) {}
  absl::Status Write(const void*, size_t size) override {
    if (size > budget_) return absl::UnavailableError("disk full");
    budget_ -= size;
    return absl::OkStatus();
  }

 private:
  size_t budget_;
};

TEST(Format, SaveReportsWriterFailureAtEveryOffset) {
  auto index = MakeIndex("Flat", 2);
  ASSERT_TRUE(index.ok());
  std::vector<float> v = {1, 2, 3, 4};
  ASSERT_TRUE(
      (*index)->Add(MatrixView<const float>(v.data(), 2, 2), {1, 2}).ok());
  std::string full;
  StringWriter sw(&full);
  ASSERT_TRUE((*index)->Save(sw).ok());
  for (size_t budget = 0; budget < full.size(); ++budget) {
    FailingWriter w(budget);
    EXPECT_FALSE((*index)->Save(w).ok()) << budget;
  }
}

}  // namespace
}  // namespace vindex::io
