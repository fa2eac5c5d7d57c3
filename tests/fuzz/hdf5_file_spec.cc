#include "hdf5_file_spec.h"

#include <hdf5.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "fuzz_temp_file.h"

namespace vindex_fuzz {
namespace {

// Bounds on what building one image may write, so that any spec builds fast.
constexpr uint64_t kMaxEagerBytes = uint64_t{1} << 20;
constexpr uint64_t kMaxChunkBytes = uint64_t{1} << 20;
constexpr uint64_t kMaxChunkedBytes = uint64_t{8} << 20;
constexpr uint64_t kMaxWrittenValues = uint64_t{1} << 16;

// Sequential little-endian fields; reads past the end give zero.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t Read(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i, ++at_) {
      if (at_ < size_) v |= uint64_t{data_[at_]} << (8 * i);
    }
    return v;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

void Put(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out->push_back(static_cast<char>(v >> (8 * i)));
}

// Closes an HDF5 handle on scope exit.
class Owned {
 public:
  Owned(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Owned() {
    if (id_ >= 0) close_(id_);
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// The element type table: numeric types of every width and byte order, a
// half-precision float built from fields, and non-numeric types the reader
// must refuse.
constexpr int kTypeCount = 18;
hid_t MakeType(uint8_t index) {
  switch (index % kTypeCount) {
    case 0:
      return H5Tcopy(H5T_IEEE_F32LE);
    case 1:
      return H5Tcopy(H5T_IEEE_F32BE);
    case 2:
      return H5Tcopy(H5T_IEEE_F64LE);
    case 3:
      return H5Tcopy(H5T_IEEE_F64BE);
    case 4: {
      hid_t t = H5Tcopy(H5T_IEEE_F32LE);
      if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 ||
          H5Tset_ebias(t, 15) < 0) {
        H5Tclose(t);
        return -1;
      }
      return t;
    }
    case 5:
      return H5Tcopy(H5T_STD_I8LE);
    case 6:
      return H5Tcopy(H5T_STD_U8LE);
    case 7:
      return H5Tcopy(H5T_STD_I16BE);
    case 8:
      return H5Tcopy(H5T_STD_U16LE);
    case 9:
      return H5Tcopy(H5T_STD_I32LE);
    case 10:
      return H5Tcopy(H5T_STD_I32BE);
    case 11:
      return H5Tcopy(H5T_STD_U32LE);
    case 12:
      return H5Tcopy(H5T_STD_I64LE);
    case 13:
      return H5Tcopy(H5T_STD_U64BE);
    case 14: {
      hid_t t = H5Tcopy(H5T_C_S1);
      if (H5Tset_size(t, 8) < 0) {
        H5Tclose(t);
        return -1;
      }
      return t;
    }
    case 15: {
      hid_t t = H5Tcreate(H5T_COMPOUND, 4);
      if (H5Tinsert(t, "x", 0, H5T_IEEE_F32LE) < 0) {
        H5Tclose(t);
        return -1;
      }
      return t;
    }
    case 16:
      return H5Tcopy(H5T_STD_B8LE);
    default:
      return H5Tcreate(H5T_OPAQUE, 4);
  }
}

// a * b, or nothing when it passes `limit`.
std::optional<uint64_t> MulAtMost(uint64_t a, uint64_t b, uint64_t limit) {
  if (a != 0 && b > limit / a) return std::nullopt;
  return a * b;
}

// Creates the dataset `name` in `file` and writes the spec's rows.
bool WriteDataset(const Hdf5FileSpec& spec, hid_t file, const char* name) {
  Owned type(MakeType(spec.type), H5Tclose);
  if (!type.ok()) return false;
  const size_t elem = H5Tget_size(type.get());
  const uint64_t rows = spec.rows, cols = spec.cols;
  hsize_t dims[3] = {rows, cols, 2};
  hsize_t max[3] = {spec.unlimited_rows ? H5S_UNLIMITED : rows, cols, 2};
  Owned space(spec.rank == 0 ? H5Screate(H5S_SCALAR)
                             : H5Screate_simple(spec.rank, dims, max),
              H5Sclose);
  if (!space.ok()) return false;
  const hssize_t points = H5Sget_simple_extent_npoints(space.get());
  if (points < 0) return false;

  Owned dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  const bool chunked = spec.layout == Hdf5Layout::kChunked;
  // Storage for the whole dataset exists at creation, or (contiguous
  // layouts) at the first write.
  const bool writes = spec.rank == 2 && spec.write_rows > 0 && !spec.external;
  const bool eager = spec.layout == Hdf5Layout::kContiguousEarly ||
                     spec.layout == Hdf5Layout::kCompact ||
                     (chunked ? spec.chunks_early : writes);
  if (eager && !MulAtMost(points, elem, kMaxEagerBytes)) return false;
  // External data is never filled (that would write to the external file).
  if (spec.has_fill && !spec.external) {
    const float fill = spec.fill % 128;
    H5Pset_fill_value(dcpl.get(), H5T_NATIVE_FLOAT, &fill);
  }
  if (chunked) {
    if (spec.rank != 2) return false;
    hsize_t chunk[2] = {spec.chunk_rows, spec.chunk_cols};
    const auto chunk_bytes = MulAtMost(uint64_t{spec.chunk_rows} * elem,
                                       spec.chunk_cols, kMaxChunkBytes);
    if (!chunk_bytes || H5Pset_chunk(dcpl.get(), 2, chunk) < 0) return false;
    // Chunks the written rows touch (plus every chunk when eager).
    const uint64_t across = (cols + chunk[1] - 1) / chunk[1];
    const uint64_t down = spec.write_rows / chunk[0] + 2;
    const auto touched = MulAtMost(down, across, kMaxChunkedBytes);
    if (!touched || !MulAtMost(*touched, *chunk_bytes, kMaxChunkedBytes)) {
      return false;
    }
    // The HDF5 library cannot write chunks into datasets of extreme extent
    // (1.10 crashes at about 2^56 rows or more), and the latest format's
    // chunk index for fixed shapes takes one entry per chunk at the first
    // write, so datasets that receive data stay well within both.
    if (writes || spec.chunks_early) {
      if (rows > (uint64_t{1} << 48)) return false;
      const auto all_chunks =
          MulAtMost(rows / chunk[0] + 1, across, uint64_t{1} << 20);
      if (spec.latest_format && !spec.unlimited_rows && !all_chunks) {
        return false;
      }
    }
    if (spec.shuffle) H5Pset_shuffle(dcpl.get());
    if (spec.Compressed()) H5Pset_deflate(dcpl.get(), spec.deflate);
    if (spec.fletcher32) H5Pset_fletcher32(dcpl.get());
    H5Pset_alloc_time(dcpl.get(), spec.chunks_early ? H5D_ALLOC_TIME_EARLY
                                                    : H5D_ALLOC_TIME_INCR);
  } else if (spec.layout == Hdf5Layout::kCompact) {
    H5Pset_layout(dcpl.get(), H5D_COMPACT);
  } else if (spec.external) {
    if (H5Pset_external(dcpl.get(), kHdf5ExternalFile, 0,
                        spec.external_bytes == 0 ? H5F_UNLIMITED
                                                 : spec.external_bytes) < 0) {
      return false;
    }
  } else {
    H5Pset_alloc_time(dcpl.get(), spec.layout == Hdf5Layout::kContiguousEarly
                                      ? H5D_ALLOC_TIME_EARLY
                                      : H5D_ALLOC_TIME_LATE);
  }
  Owned d(H5Dcreate2(file, name, type.get(), space.get(), H5P_DEFAULT,
                     dcpl.get(), H5P_DEFAULT),
          H5Dclose);
  if (!d.ok()) return false;

  // Whole rows [start, start + count) get values; external data stays
  // where it is (the external file is never written).
  if (spec.rank != 2 || spec.external || spec.write_rows == 0 ||
      spec.write_start >= rows) {
    return true;
  }
  const uint64_t count =
      std::min<uint64_t>(spec.write_rows, rows - spec.write_start);
  if (!MulAtMost(count, cols, kMaxWrittenValues)) return false;
  std::vector<float> values(count * cols);
  for (uint64_t i = 0; i < values.size(); ++i) {
    values[i] = Hdf5SpecValue(spec.write_start * cols + i);
  }
  hsize_t start[2] = {spec.write_start, 0};
  hsize_t counts[2] = {count, cols};
  Owned mem(H5Screate_simple(2, counts, nullptr), H5Sclose);
  if (H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, counts,
                          nullptr) < 0) {
    return false;
  }
  // Types with no conversion from float (strings, opaque) keep no values.
  const herr_t wrote = H5Dwrite(d.get(), H5T_NATIVE_FLOAT, mem.get(),
                                space.get(), H5P_DEFAULT, values.data());
  return wrote >= 0 || !IsHdf5SpecNumeric(spec.type, /*integer=*/false);
}

bool WriteLink(const Hdf5FileSpec& spec, hid_t file) {
  const char* name = kHdf5DatasetNames[spec.name % 4];
  switch (spec.link) {
    case Hdf5Link::kDataset:
      return WriteDataset(spec, file, name);
    case Hdf5Link::kSoftLink:
      return WriteDataset(spec, file, "stored") &&
             H5Lcreate_soft("/stored", file, name, H5P_DEFAULT, H5P_DEFAULT) >=
                 0;
    case Hdf5Link::kExternalLink:
      return H5Lcreate_external("absent_other_file.hdf5", "/train", file, name,
                                H5P_DEFAULT, H5P_DEFAULT) >= 0;
    case Hdf5Link::kGroup: {
      Owned g(H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Gclose);
      return g.ok();
    }
  }
  return false;
}

}  // namespace

bool IsHdf5SpecNumeric(uint8_t type, bool integer) {
  const int index = type % kTypeCount;
  return integer ? index >= 5 && index <= 13 : index <= 13;
}

Hdf5FileSpec DecodeHdf5FileSpec(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  Hdf5FileSpec s;
  const uint64_t read = in.Read(1);
  s.read_int = read & 1;
  s.read_name = (read >> 1) & 3;
  s.max_rows = static_cast<uint8_t>(read >> 3);
  const uint64_t naming = in.Read(1);
  s.name = naming & 3;
  s.link = static_cast<Hdf5Link>((naming >> 2) & 3);
  s.type = static_cast<uint8_t>(in.Read(1));
  const uint64_t shape = in.Read(1);
  // Codes 0..3 give ranks 2, 1, 0, 3 (the common rank first).
  constexpr uint8_t kRanks[4] = {2, 1, 0, 3};
  s.rank = kRanks[shape & 3];
  s.unlimited_rows = (shape >> 2) & 1;
  s.layout = static_cast<Hdf5Layout>((shape >> 3) & 3);
  s.external = (shape >> 5) & 1;
  s.latest_format = (shape >> 6) & 1;
  s.has_fill = (shape >> 7) & 1;
  s.rows = in.Read(8);
  s.cols = in.Read(8);
  s.chunk_rows = static_cast<uint32_t>(in.Read(4));
  s.chunk_cols = static_cast<uint32_t>(in.Read(4));
  const uint64_t filters = in.Read(1);
  s.deflate = filters & 15;
  s.shuffle = (filters >> 4) & 1;
  s.fletcher32 = (filters >> 5) & 1;
  s.chunks_early = (filters >> 6) & 1;
  s.write_start = static_cast<uint32_t>(in.Read(4));
  s.write_rows = static_cast<uint32_t>(in.Read(4));
  s.fill = static_cast<uint8_t>(in.Read(1));
  s.external_bytes = in.Read(8);
  return s;
}

std::string EncodeHdf5FileSpec(const Hdf5FileSpec& s) {
  std::string out;
  Put(&out, (s.read_int ? 1 : 0) | (s.read_name & 3) << 1 | s.max_rows << 3, 1);
  Put(&out, (s.name & 3) | static_cast<uint64_t>(s.link) << 2, 1);
  Put(&out, s.type, 1);
  constexpr uint8_t kRankCodes[4] = {2, 1, 0, 3};
  const uint64_t rank_code = kRankCodes[s.rank & 3];
  Put(&out,
      rank_code | (s.unlimited_rows ? 4 : 0) |
          static_cast<uint64_t>(s.layout) << 3 | (s.external ? 32 : 0) |
          (s.latest_format ? 64 : 0) | (s.has_fill ? 128 : 0),
      1);
  Put(&out, s.rows, 8);
  Put(&out, s.cols, 8);
  Put(&out, s.chunk_rows, 4);
  Put(&out, s.chunk_cols, 4);
  Put(&out,
      (s.deflate & 15) | (s.shuffle ? 16 : 0) | (s.fletcher32 ? 32 : 0) |
          (s.chunks_early ? 64 : 0),
      1);
  Put(&out, s.write_start, 4);
  Put(&out, s.write_rows, 4);
  Put(&out, s.fill, 1);
  Put(&out, s.external_bytes, 8);
  return out;
}

std::optional<std::string> BuildHdf5Image(const Hdf5FileSpec& spec) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  // Built in memory and written out once at close: an image taken from the
  // open file (H5Fget_file_image) carries a stale superblock checksum in the
  // latest format (HDF5 1.10).
  static const std::string path = FuzzTempPath("spec.hdf5");
  Owned fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.ok() || H5Pset_fapl_core(fapl.get(), 1 << 16, true) < 0) {
    return std::nullopt;
  }
  if (spec.latest_format) {
    H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  }
  const hid_t file =
      H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  if (file < 0) return std::nullopt;
  const bool built = WriteLink(spec, file);
  const bool closed = H5Fclose(file) >= 0;
  std::optional<std::string> image;
  if (built && closed) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in),
                      std::istreambuf_iterator<char>()};
    if (!in.bad()) image = std::move(bytes);
  }
  std::remove(path.c_str());
  return image;
}

}  // namespace vindex_fuzz
