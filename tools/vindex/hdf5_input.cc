// ann-benchmarks HDF5 files through the HDF5 C library (optional).

#include <hdf5.h>

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
  if (H5Lexists(f.get(), dataset.c_str(), H5P_DEFAULT) <= 0) {
    return fail(absl::StatusCode::kNotFound, "no such dataset");
  }
  Handle d(H5Dopen2(f.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!d.ok()) return fail(absl::StatusCode::kInvalidArgument, "cannot open");
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
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  if (dims[1] == 0 || dims[1] > (1u << 20)) {
    return fail(absl::StatusCode::kInvalidArgument,
                absl::StrCat("bad number of columns ", dims[1]));
  }
  hsize_t rows = dims[0];
  if (max_rows > 0 && static_cast<hsize_t>(max_rows) < rows) rows = max_rows;
  Matrix<T> m;
  m.rows = static_cast<int64_t>(rows);
  m.cols = static_cast<int64_t>(dims[1]);
  // The storage size bounds what a hostile file can make us allocate.
  const hsize_t stored = H5Dget_storage_size(d.get());
  const size_t elem = H5Tget_size(type.get());
  if (stored / elem / dims[1] < rows && H5Dget_storage_size(d.get()) > 0) {
    return fail(absl::StatusCode::kDataLoss,
                "dataset is smaller than its declared shape");
  }
  m.data.resize(static_cast<size_t>(rows * dims[1]));
  hsize_t start[2] = {0, 0};
  hsize_t count[2] = {rows, dims[1]};
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count,
                      nullptr);
  Handle mem(H5Screate_simple(2, count, nullptr), H5Sclose);
  const hid_t mem_type = want_float ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT32;
  if (H5Dread(d.get(), mem_type, mem.get(), space.get(), H5P_DEFAULT,
              m.data.data()) < 0) {
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
