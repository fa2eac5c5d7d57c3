#ifndef VINDEX_SRC_IO_FORMAT_H_
#define VINDEX_SRC_IO_FORMAT_H_

// The vindex file format: one little-endian container for every index type.
//
//   header  (40 bytes)
//     magic        8 bytes  "vindex\r\n"
//     version      u32      kFormatVersion
//     family       u32      IndexFamily
//     dim          u32
//     metric       u32      Metric
//     count        u64      vectors stored
//     flags        u32      0 (reserved)
//     header_crc   u32      CRC-32C of the 36 bytes above
//   sections, each:
//     tag          u32      fourcc, see kTag*
//     reserved     u32      0
//     length       u64      payload bytes
//     payload      length bytes
//     crc          u32      CRC-32C of the payload
//   end marker: a section with tag kTagEnd and length 0, then end of input.
//
// Loading treats every byte as hostile: each declared length is checked
// against the bytes remaining before anything is allocated, and every
// failure is DataLoss naming what was wrong. What a file only describes
// (HNSW upper levels, IVF list counts) is bounded by what it holds, so a
// load allocates at most kLoadAllocationFactor bytes per byte of the file
// plus kLoadAllocationSlack, counted at its peak; an allocation that fails
// all the same makes LoadIndex return ResourceExhausted.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vindex/io.h"
#include "vindex/options.h"

namespace vindex::io {

inline constexpr char kMagic[8] = {'v', 'i', 'n', 'd', 'e', 'x', '\r', '\n'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderBytes = 40;
inline constexpr size_t kSectionHeaderBytes = 16;  // tag, reserved, length
// The allocation bound of a load (see above). The worst per-byte costs are
// an empty IVF list's bookkeeping against its 12 bytes (a one-dimensional
// centroid and a count) and a Flat id's hash-table slot against its row.
inline constexpr uint64_t kLoadAllocationFactor = 8;
inline constexpr uint64_t kLoadAllocationSlack = uint64_t{1} << 20;

constexpr uint32_t FourCc(const char (&s)[5]) {
  return static_cast<uint32_t>(static_cast<uint8_t>(s[0])) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[3])) << 24;
}

// Section tags of every family, in one place so they never collide.
inline constexpr uint32_t kTagEnd = FourCc("END_");
inline constexpr uint32_t kTagParams = FourCc("PARM");   // family options
inline constexpr uint32_t kTagIds = FourCc("IDS_");      // int64 ids per row
inline constexpr uint32_t kTagVectors = FourCc("VECS");  // float rows
// IVF coarse centroids.
inline constexpr uint32_t kTagCentroids = FourCc("CENT");
inline constexpr uint32_t kTagCodebooks = FourCc("PQCB");  // PQ codebooks
// Reserved for an IVF list layout that no release writes, so no tag reuses
// it; files holding it are refused.
inline constexpr uint32_t kTagLists = FourCc("LIST");
// IVF inverted lists laid out for zero-copy mapping:
//   lead   u32  pad bytes that follow this 8-byte prefix (< 64), chosen so
//               the count table starts at a file offset that is a multiple
//               of 64
//   zero   u32  0
//   pad    lead bytes
//   counts u64 x nlist, then pad to a multiple of 64
//   per list: ids (int64 x n), codes (the in-memory layout: m bytes per
//   entry, or 4-bit fast-scan blocks), vectors (float x n x vec_dim), each
//   padded to a multiple of 64 bytes (empty arrays take no bytes).
inline constexpr uint32_t kTagListsAligned = FourCc("LSTA");
inline constexpr uint32_t kTagGraph = FourCc("GRPH");  // HNSW upper levels
// HNSW level-0 blocks (payload + links).
inline constexpr uint32_t kTagLevel0 = FourCc("GRL0");
// HNSW quantized copy.
inline constexpr uint32_t kTagQuantized = FourCc("QVEC");
// A rotated index's learned rotation; the inner index's whole container
// follows it (see index/rotation/rotated_index.cc).
inline constexpr uint32_t kTagRotation = FourCc("ROTN");

std::string TagName(uint32_t tag);

struct FileHeader {
  uint32_t version = kFormatVersion;
  IndexFamily family = IndexFamily::kFlat;
  uint32_t dim = 0;
  Metric metric = Metric::kL2;
  uint64_t count = 0;
};

// Writes a container: header, then sections, then Finish().
class ContainerWriter {
 public:
  explicit ContainerWriter(Writer& w) : w_(w) {}
  absl::Status WriteHeader(const FileHeader& h);
  // Starts a section whose payload will be exactly `length` bytes.
  absl::Status BeginSection(uint32_t tag, uint64_t length);
  absl::Status WritePayload(const void* data, size_t size);
  // Checks the declared length was written and appends the checksum.
  absl::Status EndSection();
  absl::Status WriteSection(uint32_t tag, std::string_view payload);
  // Writes the end marker and flushes.
  absl::Status Finish();
  // Bytes written so far: the file offset of the next byte.
  uint64_t offset() const { return offset_; }

 private:
  absl::Status Put(const void* data, size_t size);

  Writer& w_;
  uint64_t offset_ = 0;
  bool in_section_ = false;
  uint64_t declared_ = 0;
  uint64_t written_ = 0;
  uint32_t crc_ = 0;
};

// Reads a container written by ContainerWriter, section by section.
class ContainerReader {
 public:
  explicit ContainerReader(Reader& r) : r_(r) {}
  // Reads and checks the header (magic, version, checksum, family, metric).
  absl::StatusOr<FileHeader> ReadHeader();
  // Reads the next section's header; it must carry `tag`. Returns the payload
  // length, already checked against the bytes remaining.
  absl::StatusOr<uint64_t> BeginSection(uint32_t tag);
  // As BeginSection, for a section that must hold exactly `rows` rows of
  // `row_bytes` (> 0) bytes each; DataLoss naming the section otherwise.
  // Returns the payload length, rows * row_bytes.
  absl::StatusOr<uint64_t> BeginArraySection(uint32_t tag, uint64_t rows,
                                             uint64_t row_bytes);
  // As BeginSection, accepting either tag; *got says which one it was.
  absl::StatusOr<uint64_t> BeginSection(uint32_t tag, uint32_t alt_tag,
                                        uint32_t* got);
  // Reads payload bytes of the open section (bounded by its length).
  absl::Status ReadPayload(void* data, size_t size);
  // Zero-copy variant of ReadPayload: points *data at the next `size` payload
  // bytes inside the reader's memory (a file mapping) and sets *owner to keep
  // it alive; returns OK with *data == nullptr when the reader cannot lend
  // memory (then call ReadPayload). The checksum still covers these bytes.
  absl::Status ViewPayload(size_t size, const char** data,
                           std::shared_ptr<const void>* owner);
  // Checks the payload was consumed whole and its checksum matches.
  absl::Status EndSection();
  // BeginSection + the whole payload + EndSection, for small sections.
  // `max_length` bounds what a hostile file may make us allocate.
  absl::StatusOr<std::string> ReadSection(uint32_t tag, uint64_t max_length);
  // Expects the end marker and no bytes after it.
  absl::Status ReadEnd();

 private:
  Reader& r_;
  uint32_t open_tag_ = 0;
  bool in_section_ = false;
  uint64_t left_ = 0;
  uint32_t crc_ = 0;
};

// Appends little-endian values to a byte string (small sections).
class ByteBuilder {
 public:
  void U32(uint32_t v) { Raw(&v, 4); }
  void U64(uint64_t v) { Raw(&v, 8); }
  void I64(int64_t v) { Raw(&v, 8); }
  void F32(float v) { Raw(&v, 4); }
  void Raw(const void* p, size_t n) {
    bytes_.append(static_cast<const char*>(p), n);
  }
  const std::string& bytes() const { return bytes_; }
  std::string Take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

// Reads little-endian values from a byte string with bounds checks; every
// overrun is DataLoss naming `what`.
class ByteCursor {
 public:
  ByteCursor(std::string_view bytes, absl::string_view what)
      : bytes_(bytes), what_(what) {}
  absl::StatusOr<uint32_t> U32();
  absl::StatusOr<uint64_t> U64();
  absl::StatusOr<int64_t> I64();
  absl::StatusOr<float> F32();
  absl::Status Raw(void* p, size_t n);
  size_t remaining() const { return bytes_.size() - pos_; }
  // DataLoss unless every byte was consumed.
  absl::Status ExpectEnd() const;

 private:
  std::string_view bytes_;
  absl::string_view what_;
  size_t pos_ = 0;
};

}  // namespace vindex::io

#endif  // VINDEX_SRC_IO_FORMAT_H_
