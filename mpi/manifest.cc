#include "vindex/mpi/manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "io/crc32c.h"

namespace vindex::mpi {
namespace {

constexpr char kMagic[8] = {'V', 'X', 'S', 'H', 'A', 'R', 'D', 'S'};
// Bounds on what a hostile manifest can make the reader allocate.
constexpr uint64_t kMaxItems = uint64_t{1} << 28;
constexpr uint32_t kMaxString = 1 << 16;

class Builder {
 public:
  template <typename T>
  void Put(T v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof(v));
  }
  void PutString(std::string_view s) {
    Put<uint32_t>(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class Cursor {
 public:
  explicit Cursor(std::string_view b) : b_(b) {}
  template <typename T>
  bool Get(T* v) {
    if (b_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool GetString(std::string* s) {
    uint32_t n = 0;
    if (!Get(&n) || n > kMaxString || b_.size() - pos_ < n) return false;
    s->assign(b_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  // A count of items of `item_bytes` each that fits in what is left.
  bool GetCount(uint64_t* n, size_t item_bytes) {
    return Get(n) && *n <= kMaxItems && *n * item_bytes <= b_.size() - pos_;
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

absl::Status Lost(const std::string& what) {
  return absl::DataLossError(absl::StrCat("shard manifest: ", what));
}

absl::Status ErrnoStatus(const std::string& what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

std::string EncodeManifest(const ShardManifest& m) {
  Builder b;
  b.out().append(kMagic, sizeof(kMagic));
  b.Put<uint32_t>(ShardManifest::kVersion);
  b.Put<uint64_t>(m.generation);
  b.Put<uint32_t>(static_cast<uint32_t>(m.family));
  b.Put<int32_t>(m.dim);
  b.Put<uint32_t>(static_cast<uint32_t>(m.metric));
  b.PutString(m.description);
  b.Put<int64_t>(m.total_vectors);
  b.Put<uint64_t>(m.list_shard.size());
  for (int32_t s : m.list_shard) b.Put<int32_t>(s);
  b.Put<uint64_t>(m.id_begin.size());
  for (int64_t v : m.id_begin) b.Put<int64_t>(v);
  b.Put<uint64_t>(m.shards.size());
  for (const ShardFile& f : m.shards) {
    b.PutString(f.name);
    b.Put<uint64_t>(f.bytes);
    b.Put<uint32_t>(f.crc32c);
    b.Put<int64_t>(f.vectors);
  }
  const uint32_t crc = io::Crc32c(0, b.out().data(), b.out().size());
  b.Put<uint32_t>(crc);
  return std::move(b.out());
}

absl::StatusOr<ShardManifest> DecodeManifest(std::string_view bytes) {
  if (bytes.size() < sizeof(kMagic) + 8 ||
      std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return Lost("not a vindex shard manifest");
  }
  uint32_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
  const std::string_view body = bytes.substr(0, bytes.size() - 4);
  if (io::Crc32c(0, body.data(), body.size()) != stored) {
    return Lost("checksum mismatch");
  }
  Cursor c(body.substr(sizeof(kMagic)));
  ShardManifest m;
  uint32_t version = 0, family = 0, metric = 0;
  if (!c.Get(&version)) return Lost("truncated");
  if (version != ShardManifest::kVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("shard manifest version ", version, " is not supported"));
  }
  uint64_t n = 0;
  if (!c.Get(&m.generation) || !c.Get(&family) || !c.Get(&m.dim) ||
      !c.Get(&metric) || !c.GetString(&m.description) ||
      !c.Get(&m.total_vectors) || !c.GetCount(&n, 4)) {
    return Lost("truncated header");
  }
  if (family < 1 || family > 4 || metric > 2 || m.dim < 1 ||
      m.total_vectors < 0) {
    return Lost("bad family, metric, dim or count");
  }
  m.family = static_cast<IndexFamily>(family);
  m.metric = static_cast<Metric>(metric);
  m.list_shard.resize(n);
  for (int32_t& s : m.list_shard) c.Get(&s);
  if (!c.GetCount(&n, 8)) return Lost("truncated id ranges");
  m.id_begin.resize(n);
  for (int64_t& v : m.id_begin) c.Get(&v);
  if (!c.GetCount(&n, 4 + 8 + 4 + 8)) return Lost("truncated shard list");
  if (n < 1) return Lost("no shards");
  m.shards.resize(n);
  for (ShardFile& f : m.shards) {
    if (!c.GetString(&f.name) || !c.Get(&f.bytes) || !c.Get(&f.crc32c) ||
        !c.Get(&f.vectors)) {
      return Lost("truncated shard entry");
    }
    if (f.name.empty() || f.name.find('/') != std::string::npos ||
        f.name == "." || f.name == "..") {
      return Lost(absl::StrCat("bad shard file name '", f.name, "'"));
    }
  }
  if (!c.done()) return Lost("trailing bytes");
  const int shards = static_cast<int>(m.shards.size());
  for (int32_t s : m.list_shard) {
    if (s < 0 || s >= shards) return Lost("list owned by no shard");
  }
  if (!m.id_begin.empty() &&
      m.id_begin.size() != static_cast<size_t>(shards) + 1) {
    return Lost("id ranges do not match the shards");
  }
  int64_t sum = 0;
  for (const ShardFile& f : m.shards) {
    if (f.vectors < 0) return Lost("negative vector count");
    sum += f.vectors;
  }
  if (sum != m.total_vectors) return Lost("shard counts do not add up");
  return m;
}

absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view bytes) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp =
      absl::StrCat(path, ".tmp.", getpid(), ".", counter.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return ErrnoStatus("cannot create", tmp);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      absl::Status s = ErrnoStatus("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    absl::Status s = ErrnoStatus("cannot sync", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = ErrnoStatus("cannot rename onto", path);
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename itself is made durable by syncing the folder.
  const size_t slash = path.find_last_of('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    if (errno == ENOENT)
      return absl::NotFoundError(absl::StrCat("no file ", path));
    return ErrnoStatus("cannot open", path);
  }
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return out;
}

absl::Status WriteManifest(const std::string& dir, const ShardManifest& m) {
  return WriteFileAtomically(absl::StrCat(dir, "/", kManifestName),
                             EncodeManifest(m));
}

absl::StatusOr<ShardManifest> ReadManifest(const std::string& dir) {
  absl::StatusOr<std::string> bytes =
      ReadWholeFile(absl::StrCat(dir, "/", kManifestName));
  if (!bytes.ok()) return bytes.status();
  return DecodeManifest(*bytes);
}

std::string ShardFileName(uint64_t generation, int shard, int count) {
  return absl::StrFormat("shard-g%06d-%05d-of-%05d.vindex", generation, shard,
                         count);
}

absl::Status CheckShardBytes(const ShardFile& entry, std::string_view bytes) {
  if (bytes.size() != entry.bytes) {
    return absl::DataLossError(
        absl::StrCat("shard ", entry.name, " has ", bytes.size(),
                     " bytes, manifest says ", entry.bytes));
  }
  if (io::Crc32c(0, bytes.data(), bytes.size()) != entry.crc32c) {
    return absl::DataLossError(
        absl::StrCat("shard ", entry.name, " checksum mismatch"));
  }
  return absl::OkStatus();
}

}  // namespace vindex::mpi
