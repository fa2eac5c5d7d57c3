#include "io/format.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "io/crc32c.h"

namespace vindex::io {
namespace {

// Fuzzing builds accept bad checksums so mutated inputs reach the parsers.
bool ChecksumMismatch(uint32_t stored, uint32_t computed) {
#if defined(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
  (void)stored;
  (void)computed;
  return false;
#else
  return stored != computed;
#endif
}

}  // namespace

std::string TagName(uint32_t tag) {
  std::string s(4, '?');
  for (int i = 0; i < 4; ++i) {
    char c = static_cast<char>((tag >> (8 * i)) & 0xFF);
    s[i] = (c >= 32 && c < 127) ? c : '?';
  }
  return s;
}

absl::Status ContainerWriter::WriteHeader(const FileHeader& h) {
  char buf[kHeaderBytes];
  std::memcpy(buf, kMagic, 8);
  uint32_t u32[4] = {h.version, static_cast<uint32_t>(h.family), h.dim,
                     static_cast<uint32_t>(h.metric)};
  std::memcpy(buf + 8, u32, 16);
  std::memcpy(buf + 24, &h.count, 8);
  uint32_t flags = 0;
  std::memcpy(buf + 32, &flags, 4);
  uint32_t crc = Crc32c(0, buf, 36);
  std::memcpy(buf + 36, &crc, 4);
  return Put(buf, sizeof(buf));
}

absl::Status ContainerWriter::Put(const void* data, size_t size) {
  offset_ += size;
  return w_.Write(data, size);
}

absl::Status ContainerWriter::BeginSection(uint32_t tag, uint64_t length) {
  if (in_section_) return absl::InternalError("section already open");
  char buf[16];
  uint32_t reserved = 0;
  std::memcpy(buf, &tag, 4);
  std::memcpy(buf + 4, &reserved, 4);
  std::memcpy(buf + 8, &length, 8);
  in_section_ = true;
  declared_ = length;
  written_ = 0;
  crc_ = 0;
  return Put(buf, sizeof(buf));
}

absl::Status ContainerWriter::WritePayload(const void* data, size_t size) {
  if (!in_section_ || written_ + size > declared_) {
    return absl::InternalError("section payload exceeds its declared length");
  }
  crc_ = Crc32c(crc_, data, size);
  written_ += size;
  return Put(data, size);
}

absl::Status ContainerWriter::EndSection() {
  if (!in_section_ || written_ != declared_) {
    return absl::InternalError("section payload shorter than declared");
  }
  in_section_ = false;
  return Put(&crc_, 4);
}

absl::Status ContainerWriter::WriteSection(uint32_t tag,
                                           std::string_view payload) {
  if (auto s = BeginSection(tag, payload.size()); !s.ok()) return s;
  if (auto s = WritePayload(payload.data(), payload.size()); !s.ok()) return s;
  return EndSection();
}

absl::Status ContainerWriter::Finish() {
  if (auto s = BeginSection(kTagEnd, 0); !s.ok()) return s;
  if (auto s = EndSection(); !s.ok()) return s;
  return w_.Flush();
}

absl::StatusOr<FileHeader> ContainerReader::ReadHeader() {
  char buf[kHeaderBytes];
  if (r_.remaining() < kHeaderBytes) {
    return absl::DataLossError(absl::StrCat(
        "file too short for a vindex header (", r_.remaining(), " bytes)"));
  }
  if (auto s = r_.Read(buf, sizeof(buf)); !s.ok()) return s;
  if (std::memcmp(buf, kMagic, 8) != 0) {
    return absl::DataLossError("bad magic: not a vindex file");
  }
  uint32_t u32[4];
  std::memcpy(u32, buf + 8, 16);
  FileHeader h;
  h.version = u32[0];
  std::memcpy(&h.count, buf + 24, 8);
  uint32_t flags, crc;
  std::memcpy(&flags, buf + 32, 4);
  std::memcpy(&crc, buf + 36, 4);
  if (ChecksumMismatch(crc, Crc32c(0, buf, 36))) {
    return absl::DataLossError("header checksum mismatch");
  }
  if (h.version > kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("file format version ", h.version,
                     " is newer than this library's ", kFormatVersion));
  }
  if (h.version == 0) return absl::DataLossError("file format version 0");
  if (u32[1] < 1 || u32[1] > 5) {
    return absl::DataLossError(absl::StrCat("unknown index family ", u32[1]));
  }
  h.family = static_cast<IndexFamily>(u32[1]);
  h.dim = u32[2];
  if (h.dim < 1 || h.dim > (1u << 20)) {
    return absl::DataLossError(absl::StrCat("bad dim ", h.dim));
  }
  if (u32[3] > 2)
    return absl::DataLossError(absl::StrCat("unknown metric ", u32[3]));
  h.metric = static_cast<Metric>(u32[3]);
  if (flags != 0) return absl::DataLossError("unknown header flags");
  return h;
}

absl::StatusOr<uint64_t> ContainerReader::BeginSection(uint32_t tag) {
  uint32_t got;
  return BeginSection(tag, tag, &got);
}

absl::StatusOr<uint64_t> ContainerReader::BeginArraySection(
    uint32_t tag, uint64_t rows, uint64_t row_bytes) {
  auto length = BeginSection(tag);
  if (!length.ok()) return length.status();
  // Division, not rows * row_bytes: a hostile row count cannot overflow.
  if (row_bytes == 0 || *length % row_bytes != 0 ||
      *length / row_bytes != rows) {
    return absl::DataLossError(absl::StrCat("section ", TagName(tag), " has ",
                                            *length, " bytes for ", rows,
                                            " rows of ", row_bytes, " bytes"));
  }
  return length;
}

absl::StatusOr<uint64_t> ContainerReader::BeginSection(uint32_t tag,
                                                       uint32_t alt_tag,
                                                       uint32_t* got_tag) {
  if (in_section_) return absl::InternalError("section already open");
  char buf[16];
  if (r_.remaining() < sizeof(buf) + 4) {
    return absl::DataLossError(
        absl::StrCat("truncated before section ", TagName(tag)));
  }
  if (auto s = r_.Read(buf, sizeof(buf)); !s.ok()) return s;
  uint32_t got, reserved;
  uint64_t length;
  std::memcpy(&got, buf, 4);
  std::memcpy(&reserved, buf + 4, 4);
  std::memcpy(&length, buf + 8, 8);
  if (got != tag && got != alt_tag) {
    return absl::DataLossError(absl::StrCat("expected section ", TagName(tag),
                                            ", found ", TagName(got)));
  }
  tag = got;
  *got_tag = got;
  if (reserved != 0) {
    return absl::DataLossError(
        absl::StrCat("section ", TagName(tag), " has bad reserved field"));
  }
  // The payload and its 4-byte checksum must fit in what is left.
  if (length > r_.remaining() - 4) {
    return absl::DataLossError(
        absl::StrCat("section ", TagName(tag), " declares ", length,
                     " bytes but only ", r_.remaining() - 4, " remain"));
  }
  open_tag_ = tag;
  in_section_ = true;
  left_ = length;
  crc_ = 0;
  return length;
}

absl::Status ContainerReader::ReadPayload(void* data, size_t size) {
  if (!in_section_) return absl::InternalError("no open section");
  if (size > left_) {
    return absl::DataLossError(absl::StrCat(
        "section ", TagName(open_tag_), " is shorter than its contents need"));
  }
  if (auto s = r_.Read(data, size); !s.ok()) return s;
  crc_ = Crc32c(crc_, data, size);
  left_ -= size;
  return absl::OkStatus();
}

absl::Status ContainerReader::ViewPayload(size_t size, const char** data,
                                          std::shared_ptr<const void>* owner) {
  *data = nullptr;
  if (!in_section_) return absl::InternalError("no open section");
  if (size > left_) {
    return absl::DataLossError(absl::StrCat(
        "section ", TagName(open_tag_), " is shorter than its contents need"));
  }
  const char* p = r_.ReadView(size, owner);
  if (p == nullptr) return absl::OkStatus();
  crc_ = Crc32c(crc_, p, size);
  left_ -= size;
  *data = p;
  return absl::OkStatus();
}

absl::Status ContainerReader::EndSection() {
  if (!in_section_) return absl::InternalError("no open section");
  if (left_ != 0) {
    return absl::DataLossError(absl::StrCat("section ", TagName(open_tag_),
                                            " has ", left_,
                                            " unexpected trailing bytes"));
  }
  uint32_t crc;
  if (auto s = r_.Read(&crc, 4); !s.ok()) return s;
  in_section_ = false;
  if (ChecksumMismatch(crc, crc_)) {
    return absl::DataLossError(
        absl::StrCat("section ", TagName(open_tag_), " checksum mismatch"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ContainerReader::ReadSection(uint32_t tag,
                                                         uint64_t max_length) {
  auto length = BeginSection(tag);
  if (!length.ok()) return length.status();
  if (*length > max_length) {
    return absl::DataLossError(absl::StrCat("section ", TagName(tag),
                                            " length ", *length,
                                            " exceeds its limit ", max_length));
  }
  std::string payload(*length, '\0');
  if (auto s = ReadPayload(payload.data(), payload.size()); !s.ok()) return s;
  if (auto s = EndSection(); !s.ok()) return s;
  return payload;
}

absl::Status ContainerReader::ReadEnd() {
  auto length = BeginSection(kTagEnd);
  if (!length.ok()) return length.status();
  if (*length != 0) return absl::DataLossError("end marker has a payload");
  if (auto s = EndSection(); !s.ok()) return s;
  if (r_.remaining() != 0) {
    return absl::DataLossError(
        absl::StrCat(r_.remaining(), " unexpected bytes after the end marker"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> ByteCursor::U32() {
  uint32_t v;
  if (auto s = Raw(&v, 4); !s.ok()) return s;
  return v;
}
absl::StatusOr<uint64_t> ByteCursor::U64() {
  uint64_t v;
  if (auto s = Raw(&v, 8); !s.ok()) return s;
  return v;
}
absl::StatusOr<int64_t> ByteCursor::I64() {
  int64_t v;
  if (auto s = Raw(&v, 8); !s.ok()) return s;
  return v;
}
absl::StatusOr<float> ByteCursor::F32() {
  float v;
  if (auto s = Raw(&v, 4); !s.ok()) return s;
  return v;
}
absl::Status ByteCursor::Raw(void* p, size_t n) {
  if (n > remaining()) {
    return absl::DataLossError(absl::StrCat(what_, " is truncated"));
  }
  std::memcpy(p, bytes_.data() + pos_, n);
  pos_ += n;
  return absl::OkStatus();
}
absl::Status ByteCursor::ExpectEnd() const {
  if (remaining() != 0) {
    return absl::DataLossError(
        absl::StrCat(what_, " has ", remaining(), " trailing bytes"));
  }
  return absl::OkStatus();
}

}  // namespace vindex::io
