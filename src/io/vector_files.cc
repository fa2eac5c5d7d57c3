#include "vindex/vector_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "io/npy_header.h"

namespace vindex {
namespace {

using internal::Sv;

// Vectors wider than this are taken as a sign of a corrupt or foreign file.
constexpr int64_t kMaxDim = int64_t{1} << 20;

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

absl::Status Err(absl::StatusCode code, const std::string& path,
                 std::string_view what) {
  return absl::Status(code, absl::StrCat(Sv(path), ": ", Sv(what)));
}

absl::Status OpenError(const std::string& path, int err) {
  std::string what = std::strerror(err);
  return Err(err == ENOENT ? absl::StatusCode::kNotFound
                           : absl::StatusCode::kInvalidArgument,
             path, absl::StrCat("cannot open: ", what));
}

// Opens `path` for reading and reports its size.
absl::StatusOr<FilePtr> OpenForRead(const std::string& path, uint64_t* size) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return OpenError(path, errno);
  if (S_ISDIR(st.st_mode)) {
    return Err(absl::StatusCode::kInvalidArgument, path, "is a directory");
  }
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (f == nullptr) return OpenError(path, errno);
  *size = static_cast<uint64_t>(st.st_size);
  return f;
}

absl::Status ReadExact(std::FILE* f, void* data, size_t n,
                       const std::string& path, std::string_view what) {
  if (n == 0) return absl::OkStatus();
  if (std::fread(data, 1, n, f) != n) {
    return Err(absl::StatusCode::kDataLoss, path,
               absl::StrCat("truncated while reading ", Sv(what)));
  }
  return absl::OkStatus();
}

std::string_view Extension(const std::string& path) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return {};
  }
  return std::string_view(path).substr(dot);
}

// Reads a TEXMEX file (per row: int32 dim, then dim values of In), converting
// each value to Out.
template <typename In, typename Out>
absl::StatusOr<Matrix<Out>> ReadVecs(const std::string& path,
                                     const VectorReadOptions& options) {
  uint64_t size = 0;
  auto f = OpenForRead(path, &size);
  if (!f.ok()) return f.status();
  Matrix<Out> m;
  if (size == 0) {
    return Err(absl::StatusCode::kDataLoss, path, "empty file");
  }
  if (size < 4) {
    return Err(absl::StatusCode::kDataLoss, path,
               absl::StrCat("truncated: ", size,
                            " bytes, no room for a "
                            "dimension header"));
  }
  int32_t dim = 0;
  if (auto s = ReadExact(f->get(), &dim, 4, path, "the first dimension");
      !s.ok()) {
    return s;
  }
  if (dim <= 0 || dim > kMaxDim) {
    return Err(absl::StatusCode::kDataLoss, path,
               absl::StrCat("bad dimension ", dim, " in row 0"));
  }
  const uint64_t record = 4 + static_cast<uint64_t>(dim) * sizeof(In);
  const uint64_t full_rows = size / record;
  const uint64_t tail = size % record;
  int64_t rows = static_cast<int64_t>(full_rows);
  if (options.max_rows > 0 && options.max_rows < rows) rows = options.max_rows;
  // The allocation is bounded by the file size: rows * dim * sizeof(In) <=
  // size, and sizeof(Out) <= 4 * sizeof(In).
  m.rows = rows;
  m.cols = dim;
  m.data.resize(static_cast<size_t>(rows) * dim);
  std::rewind(f->get());
  std::vector<char> buffer;
  constexpr int64_t kBlockRows = 1024;
  // Every row is checked, also those past max_rows, so a ragged or truncated
  // file is reported whatever is asked for.
  for (int64_t r0 = 0; r0 < static_cast<int64_t>(full_rows); r0 += kBlockRows) {
    int64_t n = std::min<int64_t>(kBlockRows, full_rows - r0);
    buffer.resize(static_cast<size_t>(n * record));
    if (std::fread(buffer.data(), 1, buffer.size(), f->get()) !=
        buffer.size()) {
      return Err(absl::StatusCode::kDataLoss, path,
                 absl::StrCat("read failed near row ", r0));
    }
    for (int64_t i = 0; i < n; ++i) {
      const char* rec = buffer.data() + i * record;
      int32_t d;
      std::memcpy(&d, rec, 4);
      if (d != dim) {
        return Err(absl::StatusCode::kDataLoss, path,
                   absl::StrCat("ragged rows: row ", r0 + i, " has dimension ",
                                d, " but row 0 has ", dim));
      }
      int64_t row = r0 + i;
      if (row >= rows) continue;
      Out* out = m.data.data() + row * dim;
      const char* values = rec + 4;
      if constexpr (std::is_same_v<In, Out>) {
        std::memcpy(out, values, static_cast<size_t>(dim) * sizeof(In));
      } else {
        for (int32_t j = 0; j < dim; ++j) {
          In v;
          std::memcpy(&v, values + j * sizeof(In), sizeof(In));
          out[j] = static_cast<Out>(v);
        }
      }
    }
  }
  if (tail != 0) {
    // Either the last record is cut short or a row has another dimension.
    int32_t d = dim;
    if (tail >= 4) {
      if (auto s = ReadExact(f->get(), &d, 4, path, "the last row"); !s.ok()) {
        return s;
      }
    }
    if (d != dim) {
      return Err(absl::StatusCode::kDataLoss, path,
                 absl::StrCat("ragged rows: row ", full_rows, " has dimension ",
                              d, " but row 0 has ", dim));
    }
    return Err(absl::StatusCode::kDataLoss, path,
               absl::StrCat("truncated record: row ", full_rows, " has ", tail,
                            " of ", record, " bytes"));
  }
  return m;
}

// ---- .npy ----------------------------------------------------------------

enum class NpyType { kF4, kF8, kU1, kI4, kI8 };

struct NpyHeader {
  NpyType type = NpyType::kF4;
  size_t item_bytes = 4;
  int64_t rows = 0;
  int64_t cols = 0;
  uint64_t data_offset = 0;
};

absl::StatusOr<NpyHeader> ReadNpyHeader(std::FILE* f, uint64_t size,
                                        const std::string& path) {
  auto bad = [&](std::string_view what) {
    return Err(absl::StatusCode::kInvalidArgument, path, what);
  };
  auto lost = [&](std::string_view what) {
    return Err(absl::StatusCode::kDataLoss, path, what);
  };
  char pre[10];
  if (size < sizeof(pre)) return lost("truncated .npy header");
  if (auto s = ReadExact(f, pre, sizeof(pre), path, "the .npy header");
      !s.ok()) {
    return s;
  }
  if (std::memcmp(pre, "\x93NUMPY", 6) != 0) {
    return bad("bad magic: not a .npy file");
  }
  const int major = static_cast<uint8_t>(pre[6]);
  uint64_t header_len = 0;
  uint64_t offset = 0;
  if (major == 1) {
    uint16_t len;
    std::memcpy(&len, pre + 8, 2);
    header_len = len;
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return lost("truncated .npy header");
    char more[2];
    if (auto s = ReadExact(f, more, 2, path, "the .npy header"); !s.ok()) {
      return s;
    }
    header_len = static_cast<uint64_t>(static_cast<uint8_t>(pre[8])) |
                 static_cast<uint64_t>(static_cast<uint8_t>(pre[9])) << 8 |
                 static_cast<uint64_t>(static_cast<uint8_t>(more[0])) << 16 |
                 static_cast<uint64_t>(static_cast<uint8_t>(more[1])) << 24;
    offset = 12;
  } else {
    return bad(absl::StrCat("unsupported .npy version ", major));
  }
  if (header_len > size - offset || header_len > (1u << 20)) {
    return lost(absl::StrCat(".npy header declares ", header_len,
                             " bytes but the file has ", size - offset,
                             " after the preamble"));
  }
  std::string dict(header_len, '\0');
  if (auto s = ReadExact(f, dict.data(), dict.size(), path, "the .npy header");
      !s.ok()) {
    return s;
  }
  NpyHeader h;
  h.data_offset = offset + header_len;
  absl::StatusOr<io::NpyHeaderDict> parsed = io::ParseNpyHeaderDict(dict);
  if (!parsed.ok()) {
    const absl::string_view message = parsed.status().message();
    return bad(std::string_view(message.data(), message.size()));
  }
  if (parsed->fortran_order) {
    return bad("Fortran-order arrays are not supported (save with C order)");
  }
  const std::string& d = parsed->descr;
  if (d == "<f4") {
    h.type = NpyType::kF4, h.item_bytes = 4;
  } else if (d == "<f8") {
    h.type = NpyType::kF8, h.item_bytes = 8;
  } else if (d == "|u1" || d == "<u1") {
    h.type = NpyType::kU1, h.item_bytes = 1;
  } else if (d == "<i4") {
    h.type = NpyType::kI4, h.item_bytes = 4;
  } else if (d == "<i8") {
    h.type = NpyType::kI8, h.item_bytes = 8;
  } else {
    return bad(absl::StrCat(
        "unsupported dtype ", d,
        " (supported: <f4, <f8, |u1, <i4, <i8; big-endian is not)"));
  }
  const std::vector<int64_t>& dims = parsed->shape;
  const std::string shape = absl::StrCat("(", absl::StrJoin(dims, ", "), ")");
  if (dims.size() != 2) {
    return bad(absl::StrCat("expected a 2-D array, got shape ", shape));
  }
  h.rows = dims[0];
  h.cols = dims[1];
  if (h.cols <= 0 || h.cols > kMaxDim) {
    return bad(absl::StrCat("bad number of columns ", h.cols));
  }
  const uint64_t available = size - h.data_offset;
  const uint64_t row_bytes = static_cast<uint64_t>(h.cols) * h.item_bytes;
  if (static_cast<uint64_t>(h.rows) > available / row_bytes) {
    return lost(absl::StrCat("truncated: shape ", shape, " needs ", row_bytes,
                             " bytes per row but only ", available,
                             " data bytes are present"));
  }
  if (static_cast<uint64_t>(h.rows) * row_bytes != available) {
    return lost(absl::StrCat(available - h.rows * row_bytes,
                             " unexpected trailing bytes after the data"));
  }
  return h;
}

template <typename Out>
absl::StatusOr<Matrix<Out>> ReadNpy(const std::string& path,
                                    const VectorReadOptions& options,
                                    bool want_float) {
  uint64_t size = 0;
  auto f = OpenForRead(path, &size);
  if (!f.ok()) return f.status();
  auto h = ReadNpyHeader(f->get(), size, path);
  if (!h.ok()) return h.status();
  const bool is_float = h->type == NpyType::kF4 || h->type == NpyType::kF8 ||
                        h->type == NpyType::kU1;
  if (want_float != is_float) {
    return Err(absl::StatusCode::kInvalidArgument, path,
               want_float ? "expected a float array, found an integer dtype"
                          : "expected an integer array, found a float dtype");
  }
  Matrix<Out> m;
  m.rows = h->rows;
  if (options.max_rows > 0 && options.max_rows < m.rows) {
    m.rows = options.max_rows;
  }
  m.cols = h->cols;
  m.data.resize(static_cast<size_t>(m.rows * m.cols));
  const int64_t n = m.rows * m.cols;
  if (static_cast<size_t>(h->item_bytes) == sizeof(Out) &&
      (h->type == NpyType::kF4 || h->type == NpyType::kI4)) {
    if (auto s = ReadExact(f->get(), m.data.data(), n * sizeof(Out), path,
                           "the array data");
        !s.ok()) {
      return s;
    }
    if constexpr (std::is_same_v<Out, float>) {
      for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(m.data[i])) {
          return Err(absl::StatusCode::kInvalidArgument, path,
                     absl::StrCat("non-finite value in row ", i / m.cols));
        }
      }
    }
    return m;
  }
  std::vector<char> buffer;
  constexpr int64_t kBlock = 1 << 16;
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    int64_t cnt = std::min(kBlock, n - i0);
    buffer.resize(static_cast<size_t>(cnt) * h->item_bytes);
    if (auto s = ReadExact(f->get(), buffer.data(), buffer.size(), path,
                           "the array data");
        !s.ok()) {
      return s;
    }
    for (int64_t i = 0; i < cnt; ++i) {
      const char* p = buffer.data() + i * h->item_bytes;
      Out& out = m.data[i0 + i];
      switch (h->type) {
        case NpyType::kF4: {
          float v;
          std::memcpy(&v, p, 4);
          out = static_cast<Out>(v);
          break;
        }
        case NpyType::kF8: {
          double v;
          std::memcpy(&v, p, 8);
          if (!std::isfinite(v) || std::fabs(v) > 3.0e38) {
            return Err(absl::StatusCode::kInvalidArgument, path,
                       absl::StrCat("value in row ", (i0 + i) / m.cols,
                                    " is not a finite float32"));
          }
          out = static_cast<Out>(v);
          break;
        }
        case NpyType::kU1:
          out = static_cast<Out>(static_cast<uint8_t>(*p));
          break;
        case NpyType::kI4: {
          int32_t v;
          std::memcpy(&v, p, 4);
          out = static_cast<Out>(v);
          break;
        }
        case NpyType::kI8: {
          int64_t v;
          std::memcpy(&v, p, 8);
          if (v < std::numeric_limits<int32_t>::min() ||
              v > std::numeric_limits<int32_t>::max()) {
            return Err(absl::StatusCode::kInvalidArgument, path,
                       absl::StrCat("value ", v, " in row ", (i0 + i) / m.cols,
                                    " does not fit int32"));
          }
          out = static_cast<Out>(v);
          break;
        }
      }
    }
  }
  return m;
}

// ---- row ranges ------------------------------------------------------------

// Where the rows of a float vector file are, read from its header and size.
struct RowLayout {
  VectorFileShape shape;
  uint64_t data_offset = 0;  // Of row 0.
  uint64_t row_bytes = 0;    // Per row, a TEXMEX dimension header included.
  bool texmex = false;       // Rows start with their int32 dimension.
  NpyType type = NpyType::kF4;
  size_t item_bytes = 4;
};

absl::StatusOr<RowLayout> ReadRowLayout(std::FILE* f, uint64_t size,
                                        const std::string& path) {
  RowLayout l;
  const std::string_view ext = Extension(path);
  if (ext == ".npy") {
    auto h = ReadNpyHeader(f, size, path);
    if (!h.ok()) return h.status();
    if (h->type == NpyType::kI4 || h->type == NpyType::kI8) {
      return Err(absl::StatusCode::kInvalidArgument, path,
                 "expected a float array, found an integer dtype");
    }
    l.shape = {h->rows, static_cast<int>(h->cols)};
    l.data_offset = h->data_offset;
    l.item_bytes = h->item_bytes;
    l.row_bytes = static_cast<uint64_t>(h->cols) * h->item_bytes;
    l.type = h->type;
    return l;
  }
  if (ext != ".fvecs" && ext != ".bvecs") {
    return Err(absl::StatusCode::kInvalidArgument, path,
               "row ranges are read from .fvecs, .bvecs or .npy files");
  }
  l.texmex = true;
  l.item_bytes = ext == ".fvecs" ? 4 : 1;
  l.type = ext == ".fvecs" ? NpyType::kF4 : NpyType::kU1;
  if (size < 4) return Err(absl::StatusCode::kDataLoss, path, "truncated");
  int32_t dim = 0;
  if (auto s = ReadExact(f, &dim, 4, path, "the first dimension"); !s.ok()) {
    return s;
  }
  if (dim <= 0 || dim > kMaxDim) {
    return Err(absl::StatusCode::kDataLoss, path,
               absl::StrCat("bad dimension ", dim, " in row 0"));
  }
  l.row_bytes = 4 + static_cast<uint64_t>(dim) * l.item_bytes;
  if (size % l.row_bytes != 0) {
    return Err(absl::StatusCode::kDataLoss, path,
               absl::StrCat("size ", size, " is not a whole number of ",
                            l.row_bytes, "-byte rows"));
  }
  l.shape = {static_cast<int64_t>(size / l.row_bytes), dim};
  return l;
}

}  // namespace

absl::StatusOr<VectorFileShape> ReadVectorFileShape(const std::string& path) {
  uint64_t size = 0;
  auto f = OpenForRead(path, &size);
  if (!f.ok()) return f.status();
  auto l = ReadRowLayout(f->get(), size, path);
  if (!l.ok()) return l.status();
  return l->shape;
}

absl::StatusOr<FloatMatrix> ReadFloatVectorRows(const std::string& path,
                                                int64_t first_row,
                                                int64_t rows) {
  uint64_t size = 0;
  auto f = OpenForRead(path, &size);
  if (!f.ok()) return f.status();
  auto l = ReadRowLayout(f->get(), size, path);
  if (!l.ok()) return l.status();
  if (first_row < 0 || rows < 0 || first_row > l->shape.rows ||
      rows > l->shape.rows - first_row) {
    return Err(absl::StatusCode::kInvalidArgument, path,
               absl::StrCat("rows [", first_row, ", ", first_row + rows,
                            ") outside the file's ", l->shape.rows, " rows"));
  }
  const int64_t dim = l->shape.dim;
  FloatMatrix m;
  m.rows = rows;
  m.cols = dim;
  m.data.resize(static_cast<size_t>(rows * dim));
  const uint64_t start = l->data_offset + first_row * l->row_bytes;
  if (fseeko(f->get(), static_cast<off_t>(start), SEEK_SET) != 0) {
    return Err(absl::StatusCode::kDataLoss, path,
               absl::StrCat("cannot seek to row ", first_row));
  }
  std::vector<char> buffer;
  constexpr int64_t kBlockRows = 1024;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlockRows) {
    const int64_t n = std::min(kBlockRows, rows - r0);
    buffer.resize(static_cast<size_t>(n * l->row_bytes));
    if (auto s =
            ReadExact(f->get(), buffer.data(), buffer.size(), path, "the rows");
        !s.ok()) {
      return s;
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t row = first_row + r0 + i;
      const char* rec = buffer.data() + i * l->row_bytes;
      if (l->texmex) {
        int32_t d;
        std::memcpy(&d, rec, 4);
        if (d != dim) {
          return Err(absl::StatusCode::kDataLoss, path,
                     absl::StrCat("ragged rows: row ", row, " has dimension ",
                                  d, " but row 0 has ", dim));
        }
        rec += 4;
      }
      float* out = m.data.data() + (r0 + i) * dim;
      for (int64_t j = 0; j < dim; ++j) {
        const char* p = rec + j * l->item_bytes;
        double v = 0;
        if (l->type == NpyType::kF4) {
          float x;
          std::memcpy(&x, p, 4);
          v = x;
        } else if (l->type == NpyType::kF8) {
          std::memcpy(&v, p, 8);
        } else {
          v = static_cast<uint8_t>(*p);
        }
        if (!std::isfinite(v) || std::fabs(v) > 3.0e38) {
          return Err(
              absl::StatusCode::kInvalidArgument, path,
              absl::StrCat("value in row ", row, " is not a finite float32"));
        }
        out[j] = static_cast<float>(v);
      }
    }
  }
  return m;
}

namespace {

// ---- writers -------------------------------------------------------------

absl::StatusOr<FilePtr> OpenForWrite(const std::string& path) {
  FilePtr f(std::fopen(path.c_str(), "wb"));
  if (f == nullptr) {
    std::string what = std::strerror(errno);
    return Err(absl::StatusCode::kInvalidArgument, path,
               absl::StrCat("cannot create: ", what));
  }
  return f;
}

absl::Status WriteAll(std::FILE* f, const void* data, size_t n,
                      const std::string& path) {
  if (n != 0 && std::fwrite(data, 1, n, f) != n) {
    return Err(absl::StatusCode::kUnavailable, path,
               absl::StrCat("write failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status CloseFile(FilePtr f, const std::string& path) {
  std::FILE* raw = f.release();
  if (std::fclose(raw) != 0) {
    return Err(absl::StatusCode::kUnavailable, path,
               absl::StrCat("write failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status WriteVecs(const std::string& path, MatrixView<const T> m) {
  if (m.cols <= 0 || m.cols > kMaxDim) {
    return Err(absl::StatusCode::kInvalidArgument, path,
               absl::StrCat("bad number of columns ", m.cols));
  }
  auto f = OpenForWrite(path);
  if (!f.ok()) return f.status();
  const int32_t dim = static_cast<int32_t>(m.cols);
  for (int64_t i = 0; i < m.rows; ++i) {
    if (auto s = WriteAll(f->get(), &dim, 4, path); !s.ok()) return s;
    if (auto s = WriteAll(f->get(), m.row(i), m.cols * sizeof(T), path);
        !s.ok()) {
      return s;
    }
  }
  return CloseFile(std::move(*f), path);
}

template <typename T>
absl::Status WriteNpyImpl(const std::string& path, MatrixView<const T> m,
                          std::string_view descr) {
  if (m.cols <= 0 || m.rows < 0) {
    return Err(absl::StatusCode::kInvalidArgument, path, "bad matrix shape");
  }
  std::string dict =
      absl::StrCat("{'descr': '", Sv(descr), "', 'fortran_order': False, ",
                   "'shape': (", m.rows, ", ", m.cols, "), }");
  // Pad so the data starts on a 64-byte boundary, ending with a newline.
  size_t total = 10 + dict.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  dict.append(pad, ' ');
  dict.push_back('\n');
  char pre[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
  const uint16_t len = static_cast<uint16_t>(dict.size());
  std::memcpy(pre + 8, &len, 2);
  auto f = OpenForWrite(path);
  if (!f.ok()) return f.status();
  if (auto s = WriteAll(f->get(), pre, sizeof(pre), path); !s.ok()) return s;
  if (auto s = WriteAll(f->get(), dict.data(), dict.size(), path); !s.ok()) {
    return s;
  }
  for (int64_t i = 0; i < m.rows; ++i) {
    if (auto s = WriteAll(f->get(), m.row(i), m.cols * sizeof(T), path);
        !s.ok()) {
      return s;
    }
  }
  return CloseFile(std::move(*f), path);
}

}  // namespace

absl::StatusOr<FloatMatrix> ReadFvecs(const std::string& path,
                                      const VectorReadOptions& options) {
  auto m = ReadVecs<float, float>(path, options);
  if (!m.ok()) return m;
  for (size_t i = 0; i < m->data.size(); ++i) {
    if (!std::isfinite(m->data[i])) {
      return Err(absl::StatusCode::kInvalidArgument, path,
                 absl::StrCat("non-finite value in row ", i / m->cols));
    }
  }
  return m;
}

absl::StatusOr<FloatMatrix> ReadBvecs(const std::string& path,
                                      const VectorReadOptions& options) {
  return ReadVecs<uint8_t, float>(path, options);
}

absl::StatusOr<Int32Matrix> ReadIvecs(const std::string& path,
                                      const VectorReadOptions& options) {
  return ReadVecs<int32_t, int32_t>(path, options);
}

absl::StatusOr<FloatMatrix> ReadNpyFloat(const std::string& path,
                                         const VectorReadOptions& options) {
  return ReadNpy<float>(path, options, /*want_float=*/true);
}

absl::StatusOr<Int32Matrix> ReadNpyInt32(const std::string& path,
                                         const VectorReadOptions& options) {
  return ReadNpy<int32_t>(path, options, /*want_float=*/false);
}

absl::StatusOr<FloatMatrix> ReadFloatVectors(const std::string& path,
                                             const VectorReadOptions& options) {
  std::string_view ext = Extension(path);
  if (ext == ".fvecs") return ReadFvecs(path, options);
  if (ext == ".bvecs") return ReadBvecs(path, options);
  if (ext == ".npy") return ReadNpyFloat(path, options);
  return Err(absl::StatusCode::kInvalidArgument, path,
             absl::StrCat("unknown vector file extension '", Sv(ext),
                          "' (expected .fvecs, .bvecs or .npy)"));
}

absl::StatusOr<Int32Matrix> ReadIntVectors(const std::string& path,
                                           const VectorReadOptions& options) {
  std::string_view ext = Extension(path);
  if (ext == ".ivecs") return ReadIvecs(path, options);
  if (ext == ".npy") return ReadNpyInt32(path, options);
  return Err(absl::StatusCode::kInvalidArgument, path,
             absl::StrCat("unknown integer vector file extension '", Sv(ext),
                          "' (expected .ivecs or .npy)"));
}

absl::Status WriteFvecs(const std::string& path, MatrixView<const float> m) {
  return WriteVecs<float>(path, m);
}

absl::Status WriteIvecs(const std::string& path, MatrixView<const int32_t> m) {
  return WriteVecs<int32_t>(path, m);
}

absl::Status WriteNpy(const std::string& path, MatrixView<const float> m) {
  return WriteNpyImpl<float>(path, m, "<f4");
}

absl::Status WriteNpy(const std::string& path, MatrixView<const int32_t> m) {
  return WriteNpyImpl<int32_t>(path, m, "<i4");
}

}  // namespace vindex
