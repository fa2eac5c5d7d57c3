// ann-benchmarks HDF5 files through the HDF5 C library (optional).

#include <hdf5.h>

#include <cstdint>
#include <limits>
#include <new>
#include <string>

#include "absl/strings/str_cat.h"
#include "inputs.h"

namespace vindex::cli {
namespace {

// Closes an HDF5 handle with the matching function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// External links are not followed: the reader takes data only from the file
// it was given.
herr_t RefuseExternalLink(const char*, const char*, const char*, const char*,
                          unsigned*, hid_t, void*) {
  return -1;
}

// Conversion to the reader's type stops at the first value out of its range
// (HDF5 would otherwise clamp it: an id of 2^40 would read as 2^31 - 1, a
// float64 of 1e300 as infinity) and notes that it did.
H5T_conv_ret_t StopOutOfRange(H5T_conv_except_t kind, hid_t, hid_t, void*,
                              void*, void* out_of_range) {
  if (kind != H5T_CONV_EXCEPT_RANGE_HI && kind != H5T_CONV_EXCEPT_RANGE_LOW) {
    return H5T_CONV_UNHANDLED;
  }
  *static_cast<bool*>(out_of_range) = true;
  return H5T_CONV_ABORT;
}

// Deflate expands a byte into at most about 1032.
constexpr hsize_t kMaxFilterExpansion = 1100;

// Checks that the file holds data for the first `rows` rows, so that a
// declared shape alone cannot make the reader allocate: contiguous data must
// be stored in full, chunked (possibly compressed) data must have at least
// as many chunks written as those rows span, and in any layout those rows
// may not need more bytes than the whole file holds (times the expansion of
// a filter), whatever sizes a damaged file's metadata claims.
absl::Status CheckStored(hid_t dataset, hid_t space, hsize_t rows, hsize_t cols,
                         size_t elem, hsize_t file_bytes) {
  Handle dcpl(H5Dget_create_plist(dataset), H5Pclose);
  if (!dcpl.ok()) {
    return absl::InvalidArgumentError("cannot read the dataset's layout");
  }
  // Raw data in external files lies outside the file being read, and the
  // size those files declare bounds nothing.
  if (H5Pget_external_count(dcpl.get()) != 0) {
    return absl::InvalidArgumentError(
        "dataset keeps its values in external files (not read)");
  }
  const hsize_t expansion =
      H5Pget_nfilters(dcpl.get()) > 0 ? kMaxFilterExpansion : 1;
  if (rows > file_bytes * expansion / elem / cols) {
    return absl::DataLossError(
        absl::StrCat("dataset's first ", rows, " x ", cols, " values need ",
                     "more bytes than the file's ", file_bytes));
  }
  switch (H5Pget_layout(dcpl.get())) {
    case H5D_COMPACT:
    case H5D_CONTIGUOUS: {
      const hsize_t stored = H5Dget_storage_size(dataset);
      if (stored / elem / cols < rows) {
        return absl::DataLossError(absl::StrCat("dataset stores ", stored,
                                                " bytes, fewer than its ", rows,
                                                " x ", cols, " shape needs"));
      }
      return absl::OkStatus();
    }
    case H5D_CHUNKED: {
      hsize_t chunk[2] = {0, 0};
      hsize_t written = 0;
      if (H5Pget_chunk(dcpl.get(), 2, chunk) != 2 || chunk[0] == 0 ||
          chunk[1] == 0 || H5Dget_num_chunks(dataset, space, &written) < 0) {
        return absl::InvalidArgumentError("cannot read the dataset's chunks");
      }
      const hsize_t across = (cols + chunk[1] - 1) / chunk[1];
      const hsize_t down = rows / chunk[0] + (rows % chunk[0] != 0);
      if (down > written / across) {
        return absl::DataLossError(absl::StrCat(
            "dataset has ", written, " chunks written but its first ", rows,
            " rows span ", down, " x ", across, " chunks"));
      }
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(
          "unsupported dataset layout (contiguous, compact or chunked only)");
  }
}

template <typename T>
absl::StatusOr<Matrix<T>> ReadDataset(const std::string& file,
                                      const std::string& dataset,
                                      int64_t max_rows, bool want_float) {
  // Errors are reported by us, not printed by the library.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string where = absl::StrCat(file, ":", dataset);
  auto fail = [&](absl::StatusCode code, const std::string& what) {
    return absl::Status(code, absl::StrCat(where, ": ", what));
  };
  if (H5Fis_hdf5(file.c_str()) <= 0) {
    return absl::Status(absl::StatusCode::kInvalidArgument,
                        absl::StrCat(file, ": not an HDF5 file (or missing)"));
  }
  Handle f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.ok()) {
    return absl::Status(absl::StatusCode::kInvalidArgument,
                        absl::StrCat(file, ": cannot open HDF5 file"));
  }
  Handle access(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
  if (!access.ok() ||
      H5Pset_elink_cb(access.get(), RefuseExternalLink, nullptr) < 0) {
    return fail(absl::StatusCode::kInternal, "cannot set up dataset access");
  }
  if (H5Lexists(f.get(), dataset.c_str(), access.get()) <= 0) {
    return fail(absl::StatusCode::kNotFound, "no such dataset");
  }
  Handle d(H5Dopen2(f.get(), dataset.c_str(), access.get()), H5Dclose);
  if (!d.ok()) {
    return fail(absl::StatusCode::kInvalidArgument,
                "cannot open (not a dataset in this file; links to other "
                "files are not followed)");
  }
  Handle type(H5Dget_type(d.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (want_float && cls != H5T_FLOAT && cls != H5T_INTEGER) {
    return fail(absl::StatusCode::kInvalidArgument, "not a numeric dataset");
  }
  if (!want_float && cls != H5T_INTEGER) {
    return fail(absl::StatusCode::kInvalidArgument,
                "expected an integer dataset");
  }
  Handle space(H5Dget_space(d.get()), H5Sclose);
  if (H5Sget_simple_extent_ndims(space.get()) != 2) {
    return fail(absl::StatusCode::kInvalidArgument, "expected a 2-D dataset");
  }
  hsize_t dims[2];
  if (H5Sget_simple_extent_dims(space.get(), dims, nullptr) != 2) {
    return fail(absl::StatusCode::kInvalidArgument, "cannot read the shape");
  }
  if (dims[1] == 0 || dims[1] > (1u << 20)) {
    return fail(absl::StatusCode::kInvalidArgument,
                absl::StrCat("bad number of columns ", dims[1]));
  }
  hsize_t rows = dims[0];
  if (max_rows > 0 && static_cast<hsize_t>(max_rows) < rows) rows = max_rows;
  // rows * cols values of T must be addressable; the product may not wrap.
  if (rows > std::numeric_limits<int64_t>::max() / sizeof(T) / dims[1]) {
    return fail(
        absl::StatusCode::kInvalidArgument,
        absl::StrCat("shape (", dims[0], ", ", dims[1], ") is too large"));
  }
  const size_t elem = H5Tget_size(type.get());
  if (elem == 0) {
    return fail(absl::StatusCode::kInvalidArgument, "bad element type");
  }
  // What is stored, not the declared shape, bounds what we allocate.
  hsize_t file_bytes = 0;
  if (H5Fget_filesize(f.get(), &file_bytes) < 0) {
    return fail(absl::StatusCode::kInvalidArgument, "cannot read file size");
  }
  if (absl::Status s =
          CheckStored(d.get(), space.get(), rows, dims[1], elem, file_bytes);
      !s.ok()) {
    return fail(s.code(), std::string(s.message()));
  }
  Matrix<T> m;
  m.rows = static_cast<int64_t>(rows);
  m.cols = static_cast<int64_t>(dims[1]);
  try {
    m.data.resize(static_cast<size_t>(rows * dims[1]));
  } catch (const std::bad_alloc&) {
    return fail(
        absl::StatusCode::kResourceExhausted,
        absl::StrCat("out of memory for ", rows, " x ", dims[1], " values"));
  }
  hsize_t start[2] = {0, 0};
  hsize_t count[2] = {rows, dims[1]};
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count,
                      nullptr);
  Handle mem(H5Screate_simple(2, count, nullptr), H5Sclose);
  const hid_t mem_type = want_float ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT32;
  bool out_of_range = false;
  Handle transfer(H5Pcreate(H5P_DATASET_XFER), H5Pclose);
  if (!transfer.ok() ||
      H5Pset_type_conv_cb(transfer.get(), StopOutOfRange, &out_of_range) < 0) {
    return fail(absl::StatusCode::kInternal, "cannot set up the read");
  }
  if (H5Dread(d.get(), mem_type, mem.get(), space.get(), transfer.get(),
              m.data.data()) < 0) {
    if (out_of_range) {
      return fail(absl::StatusCode::kInvalidArgument,
                  want_float ? "a value is beyond the float32 range"
                             : "a value does not fit in int32");
    }
    return fail(absl::StatusCode::kDataLoss, "read failed");
  }
  return m;
}

}  // namespace

bool HaveHdf5() { return true; }

absl::StatusOr<FloatMatrix> ReadHdf5Float(const std::string& file,
                                          const std::string& dataset,
                                          int64_t max_rows) {
  return ReadDataset<float>(file, dataset, max_rows, true);
}

absl::StatusOr<Int32Matrix> ReadHdf5Int(const std::string& file,
                                        const std::string& dataset,
                                        int64_t max_rows) {
  return ReadDataset<int32_t>(file, dataset, max_rows, false);
}

}  // namespace vindex::cli
