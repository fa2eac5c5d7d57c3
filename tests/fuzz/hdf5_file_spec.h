// A compact description of an ann-benchmarks-shaped HDF5 file (one dataset:
// its name and link, element type, rank and declared shape, layout, chunking,
// filters, which rows hold written values) and the in-memory file image the
// HDF5 library writes for it. The HDF5 fuzzers use it two ways: fuzz bytes
// decode to a spec whose valid file is then read (so mutations reach the
// reader's own checks, not the library's parser), and the seed generator
// encodes hand-picked specs and writes their images as raw-file seeds.
#ifndef VINDEX_TESTS_FUZZ_HDF5_FILE_SPEC_H_
#define VINDEX_TESTS_FUZZ_HDF5_FILE_SPEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace vindex_fuzz {

// The dataset names ann-benchmarks files use; a spec picks one by index.
inline constexpr const char* kHdf5DatasetNames[4] = {"train", "test",
                                                     "neighbors", "distances"};

enum class Hdf5Link : uint8_t {
  kDataset,       // a dataset under the name
  kSoftLink,      // the name is a soft link to the dataset "/stored"
  kExternalLink,  // the name links to a dataset in another (absent) file
  kGroup,         // the name is a group, not a dataset
};

enum class Hdf5Layout : uint8_t {
  kContiguousLate,   // storage allocated on first write
  kContiguousEarly,  // storage allocated (and filled) at creation
  kCompact,          // data stored in the object header
  kChunked,
};

struct Hdf5FileSpec {
  // How the file is read: the int32 reader (ground truth) instead of the
  // float one, which dataset name is asked for, and a row limit (0: all).
  bool read_int = false;
  uint8_t read_name = 0;
  uint8_t max_rows = 0;

  uint8_t name = 0;  // index into kHdf5DatasetNames
  Hdf5Link link = Hdf5Link::kDataset;
  uint8_t type = 0;  // index into the element type table (see the .cc)
  uint8_t rank = 2;  // 0 (scalar) to 3; rank 3 adds a trailing extent of 2
  bool unlimited_rows = false;
  Hdf5Layout layout = Hdf5Layout::kContiguousLate;
  bool external = false;  // contiguous data kept in an external file
  bool latest_format = false;
  bool has_fill = false;
  uint64_t rows = 0;
  uint64_t cols = 0;
  uint32_t chunk_rows = 1;
  uint32_t chunk_cols = 1;
  uint8_t deflate = 0;  // 1 to 9: deflate level; otherwise none
  bool shuffle = false;
  bool fletcher32 = false;
  bool chunks_early = false;    // chunked: every chunk allocated at creation
  uint32_t write_start = 0;     // rows [write_start, write_start + write_rows)
  uint32_t write_rows = 0;      // hold written values (all columns)
  uint8_t fill = 0;             // the fill value when has_fill
  uint64_t external_bytes = 0;  // declared external size; 0: unlimited

  bool Compressed() const {
    return layout == Hdf5Layout::kChunked && deflate >= 1 && deflate <= 9;
  }
};

// Where the external data of a spec with `external` set lives.
inline constexpr const char* kHdf5ExternalFile = "/dev/zero";

// Fuzz bytes to a spec (missing bytes read as zero) and back.
Hdf5FileSpec DecodeHdf5FileSpec(const uint8_t* data, size_t size);
std::string EncodeHdf5FileSpec(const Hdf5FileSpec& spec);

// The value written at flat position `i` (row * cols + col): small
// non-negative integers, exact in every numeric element type of the table.
inline float Hdf5SpecValue(uint64_t i) {
  return static_cast<float>((i * 37 + 11) % 128);
}

// Whether the spec's element type is an integer (`integer`) or any number:
// table entries 0-4 are floats, 5-13 integers, the rest not numbers.
bool IsHdf5SpecNumeric(uint8_t type, bool integer);

// The file the HDF5 library writes for `spec`, or nothing when the
// library refuses the spec or when writing it would take more than a few
// MiB (the fuzzer skips such inputs).
std::optional<std::string> BuildHdf5Image(const Hdf5FileSpec& spec);

}  // namespace vindex_fuzz

#endif  // VINDEX_TESTS_FUZZ_HDF5_FILE_SPEC_H_
