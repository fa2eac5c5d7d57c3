#ifndef VINDEX_IO_H_
#define VINDEX_IO_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vindex {

// A byte sink for Index::Save.
// Thread safety: a Writer is used by one thread at a time.
class Writer {
 public:
  virtual ~Writer() = default;
  // Appends `size` bytes; on error the sink's contents are unspecified.
  virtual absl::Status Write(const void* data, size_t size) = 0;
  // Makes everything written so far durable where that means something.
  virtual absl::Status Flush() { return absl::OkStatus(); }
};

// A byte source for LoadIndex. Its bytes are untrusted input.
// Thread safety: a Reader is used by one thread at a time.
class Reader {
 public:
  virtual ~Reader() = default;
  // Reads exactly `size` bytes or fails with DataLoss (nothing is consumed
  // on failure only if the implementation says so).
  virtual absl::Status Read(void* data, size_t size) = 0;
  // Bytes left to read. Loaders check every declared length against it
  // before allocating.
  virtual uint64_t remaining() const = 0;
  // Zero-copy read: returns a pointer to the next `size` bytes and consumes
  // them, or nullptr (consuming nothing) when this reader cannot lend its
  // memory. *owner then keeps that memory alive for as long as it is held.
  virtual const char* ReadView(size_t size,
                               std::shared_ptr<const void>* owner) {
    (void)size;
    (void)owner;
    return nullptr;
  }
};

// Appends to a std::string owned by the caller.
class StringWriter final : public Writer {
 public:
  explicit StringWriter(std::string* out) : out_(out) {}
  absl::Status Write(const void* data, size_t size) override;

 private:
  std::string* out_;
};

// Reads from memory owned by the caller (which must outlive the reader).
class MemoryReader final : public Reader {
 public:
  explicit MemoryReader(std::string_view bytes) : bytes_(bytes) {}
  absl::Status Read(void* data, size_t size) override;
  uint64_t remaining() const override { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

// Writes a file through a buffer. Flush() pushes the bytes to the kernel and
// fsyncs them. Close() flushes and closes; the destructor closes silently.
class FileWriter final : public Writer {
 public:
  // Creates or truncates `path`.
  static absl::StatusOr<std::unique_ptr<FileWriter>> Create(
      const std::string& path);
  ~FileWriter() override;
  absl::Status Write(const void* data, size_t size) override;
  absl::Status Flush() override;
  absl::Status Close();

 private:
  FileWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  absl::Status Drain();
  int fd_;
  std::string path_;
  std::string buffer_;
};

// Reads a file through a read-only memory mapping. Indexes loaded from it
// serve their large sections (Flat vectors, IVF lists, the HNSW level-0
// graph) straight from the mapping instead of copying them, which makes
// start-up of large indexes fast; the mapping lives until the last index using
// it is destroyed.
//
// Changing a mapped file: replace it by writing a new file and renaming it
// over the old one (SaveIndexToFile does); the mapping keeps the old file's
// bytes. If the file is instead rewritten in place (cp over it, rsync
// --inplace), its new bytes show through the mapping: searches, GetVectors,
// Save, Add and Remove may then give wrong results (Save may write a file
// that loads as DataLoss) but never crash or touch memory out of bounds.
// Truncating a mapped file is the one change that can still kill the
// process: reading a page past the new end raises SIGBUS (a property of
// file mappings).
class MappedFileReader final : public Reader {
 public:
  static absl::StatusOr<std::unique_ptr<MappedFileReader>> Open(
      const std::string& path);
  absl::Status Read(void* data, size_t size) override;
  uint64_t remaining() const override { return size_ - pos_; }
  const char* ReadView(size_t size,
                       std::shared_ptr<const void>* owner) override;

 private:
  MappedFileReader(std::shared_ptr<const void> mapping, const char* base,
                   uint64_t size, std::string path)
      : mapping_(std::move(mapping)),
        base_(base),
        size_(size),
        path_(std::move(path)) {}
  std::shared_ptr<const void> mapping_;
  const char* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string path_;
};

// Reads a file through a buffer.
class FileReader final : public Reader {
 public:
  static absl::StatusOr<std::unique_ptr<FileReader>> Open(
      const std::string& path);
  ~FileReader() override;
  absl::Status Read(void* data, size_t size) override;
  uint64_t remaining() const override { return size_ - pos_; }

 private:
  FileReader(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  int fd_;
  std::string path_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

}  // namespace vindex

#endif  // VINDEX_IO_H_
