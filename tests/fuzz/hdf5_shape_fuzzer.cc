// libFuzzer target: the vindex tool's HDF5 reader over valid HDF5 files
// whose structure the input describes (see hdf5_file_spec.h), so that every
// input reaches the reader's own checks instead of the HDF5 library's
// parser. What the reader accepts must be exactly the dataset that was
// written (shape, row limit, values, fill values where nothing was written),
// it may not allocate more than the file could hold (one value per stored
// byte, or about a thousand per byte when deflate-compressed), and it must
// accept every plain, fully written numeric dataset.
#include <hdf5.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "fuzz_temp_file.h"
#include "hdf5_file_spec.h"
#include "inputs.h"
#include "read_matrix_checks.h"

namespace {

using vindex_fuzz::Hdf5FileSpec;

// Deflate expands at most about 1032 times.
constexpr uint64_t kMaxDeflateRatio = 1100;

// A plain ann-benchmarks dataset: 2-D, numeric (integers for the int32
// reader), at most 2^20 columns, in the file, every row written (or none).
bool MustLoad(const Hdf5FileSpec& spec) {
  return spec.read_name == spec.name && spec.rank == 2 && !spec.external &&
         (spec.link == vindex_fuzz::Hdf5Link::kDataset ||
          spec.link == vindex_fuzz::Hdf5Link::kSoftLink) &&
         vindex_fuzz::IsHdf5SpecNumeric(spec.type, spec.read_int) &&
         spec.cols >= 1 && spec.cols <= (uint64_t{1} << 20) &&
         (spec.rows == 0 ||
          (spec.write_start == 0 && spec.write_rows >= spec.rows));
}

template <typename T>
void Check(const absl::StatusOr<vindex::Matrix<T>>& m, const Hdf5FileSpec& spec,
           size_t image_bytes) {
  vindex_fuzz::CheckReadMatrix(m, spec.max_rows, /*finite=*/true);
  if (!m.ok()) {
    if (MustLoad(spec)) std::abort();
    return;
  }
  // Only a 2-D dataset under the asked name can be read.
  if (spec.read_name != spec.name || spec.rank != 2 ||
      (spec.link != vindex_fuzz::Hdf5Link::kDataset &&
       spec.link != vindex_fuzz::Hdf5Link::kSoftLink)) {
    std::abort();
  }
  const uint64_t rows = spec.max_rows > 0
                            ? std::min<uint64_t>(spec.rows, spec.max_rows)
                            : spec.rows;
  if (static_cast<uint64_t>(m->rows) != rows ||
      static_cast<uint64_t>(m->cols) != spec.cols) {
    std::abort();
  }
  const uint64_t per_byte = spec.Compressed() ? kMaxDeflateRatio : 1;
  if (m->data.size() > image_bytes * per_byte) std::abort();
  if (spec.external) return;  // its values are whatever the external file holds
  const float fill = spec.has_fill ? spec.fill % 128 : 0;
  const uint64_t written_end = uint64_t{spec.write_start} + spec.write_rows;
  for (uint64_t r = 0; r < rows; ++r) {
    const bool written = r >= spec.write_start && r < written_end;
    for (uint64_t c = 0; c < spec.cols; ++c) {
      const float want =
          written ? vindex_fuzz::Hdf5SpecValue(r * spec.cols + c) : fill;
      if (static_cast<float>(m->data[r * spec.cols + c]) != want) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Hdf5FileSpec spec = vindex_fuzz::DecodeHdf5FileSpec(data, size);
  const std::optional<std::string> image = vindex_fuzz::BuildHdf5Image(spec);
  if (!image) return 0;
  static vindex_fuzz::FuzzTempFile file("input.hdf5");
  const std::string& path = file.Write(
      reinterpret_cast<const uint8_t*>(image->data()), image->size());
  const std::string name = vindex_fuzz::kHdf5DatasetNames[spec.read_name];
  if (spec.read_int) {
    Check(vindex::cli::ReadHdf5Int(path, name, spec.max_rows), spec,
          image->size());
  } else {
    Check(vindex::cli::ReadHdf5Float(path, name, spec.max_rows), spec,
          image->size());
  }
  // Every HDF5 object the reader (or the builder) opened is closed again.
  if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) std::abort();
  return 0;
}
