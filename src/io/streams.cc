// The Writer/Reader implementations: memory and files.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "vindex/io.h"

namespace vindex {
namespace {

constexpr size_t kFileBufferBytes = 1 << 20;

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  int e = errno;
  std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(e));
  if (e == ENOENT) return absl::NotFoundError(msg);
  if (e == EACCES || e == EPERM) return absl::PermissionDeniedError(msg);
  if (e == ENOSPC || e == EDQUOT) return absl::ResourceExhaustedError(msg);
  return absl::UnavailableError(msg);
}

struct OpenFile {
  int fd;
  uint64_t size;
};

// Opens `path` read-only; it must be a regular file. The caller owns fd.
absl::StatusOr<OpenFile> OpenRegularFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = ErrnoError("cannot stat", path);
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a regular file"));
  }
  return OpenFile{fd, static_cast<uint64_t>(st.st_size)};
}

}  // namespace

absl::Status StringWriter::Write(const void* data, size_t size) {
  if (size == 0) return absl::OkStatus();  // data may be null (empty vector).
  out_->append(static_cast<const char*>(data), size);
  return absl::OkStatus();
}

absl::Status MemoryReader::Read(void* data, size_t size) {
  if (size > remaining()) {
    return absl::DataLossError(absl::StrCat("unexpected end of input: wanted ",
                                            size, " bytes, ", remaining(),
                                            " left"));
  }
  if (size == 0) return absl::OkStatus();  // data may be null (empty vector).
  std::memcpy(data, bytes_.data() + pos_, size);
  pos_ += size;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileWriter>> FileWriter::Create(
    const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", path);
  return std::unique_ptr<FileWriter>(new FileWriter(fd, path));
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status FileWriter::Drain() {
  size_t off = 0;
  while (off < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + off, buffer_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path_);
    }
    off += static_cast<size_t>(n);
  }
  buffer_.clear();
  return absl::OkStatus();
}

absl::Status FileWriter::Write(const void* data, size_t size) {
  if (fd_ < 0) return absl::FailedPreconditionError("file writer is closed");
  if (buffer_.size() + size > kFileBufferBytes) {
    if (auto s = Drain(); !s.ok()) return s;
  }
  if (size >= kFileBufferBytes) {
    buffer_.assign(static_cast<const char*>(data), size);
    return Drain();
  }
  buffer_.append(static_cast<const char*>(data), size);
  return absl::OkStatus();
}

absl::Status FileWriter::Flush() {
  if (fd_ < 0) return absl::FailedPreconditionError("file writer is closed");
  if (auto s = Drain(); !s.ok()) return s;
  if (::fsync(fd_) != 0) return ErrnoError("cannot sync", path_);
  return absl::OkStatus();
}

absl::Status FileWriter::Close() {
  if (fd_ < 0) return absl::OkStatus();
  absl::Status s = Flush();
  if (::close(fd_) != 0 && s.ok()) s = ErrnoError("cannot close", path_);
  fd_ = -1;
  return s;
}

absl::StatusOr<std::unique_ptr<FileReader>> FileReader::Open(
    const std::string& path) {
  auto file = OpenRegularFile(path);
  if (!file.ok()) return file.status();
  return std::unique_ptr<FileReader>(
      new FileReader(file->fd, path, file->size));
}

FileReader::~FileReader() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status FileReader::Read(void* data, size_t size) {
  if (size > remaining()) {
    return absl::DataLossError(
        absl::StrCat(path_, ": unexpected end of file: wanted ", size,
                     " bytes, ", remaining(), " left"));
  }
  char* p = static_cast<char*>(data);
  size_t got = 0;
  while (got < size) {
    ssize_t n =
        ::pread(fd_, p + got, size - got, static_cast<off_t>(pos_ + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot read", path_);
    }
    if (n == 0)
      return absl::DataLossError(
          absl::StrCat(path_, ": file shrank while reading"));
    got += static_cast<size_t>(n);
  }
  pos_ += size;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MappedFileReader>> MappedFileReader::Open(
    const std::string& path) {
  auto file = OpenRegularFile(path);
  if (!file.ok()) return file.status();
  const int fd = file->fd;
  const size_t size = static_cast<size_t>(file->size);
  void* base = nullptr;
  if (size > 0) {
    base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED) {
      absl::Status s = ErrnoError("cannot map", path);
      ::close(fd);
      return s;
    }
  }
  ::close(fd);  // The mapping stays valid without the descriptor.
  std::shared_ptr<const void> mapping(base, [size](const void* p) {
    if (p != nullptr) ::munmap(const_cast<void*>(p), size);
  });
  return std::unique_ptr<MappedFileReader>(new MappedFileReader(
      std::move(mapping), static_cast<const char*>(base), size, path));
}

absl::Status MappedFileReader::Read(void* data, size_t size) {
  if (size > remaining()) {
    return absl::DataLossError(
        absl::StrCat(path_, ": unexpected end of file: wanted ", size,
                     " bytes, ", remaining(), " left"));
  }
  if (size > 0) std::memcpy(data, base_ + pos_, size);
  pos_ += size;
  return absl::OkStatus();
}

const char* MappedFileReader::ReadView(size_t size,
                                       std::shared_ptr<const void>* owner) {
  if (size > remaining() || base_ == nullptr) return nullptr;
  const char* p = base_ + pos_;
  pos_ += size;
  *owner = mapping_;
  return p;
}

}  // namespace vindex
