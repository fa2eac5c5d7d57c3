// Writes the HDF5 fuzzers' seed corpora into the folder given as argv[1]:
//   hdf5_shape/   encoded file specs (see hdf5_file_spec.h)
//   hdf5_reader/  a selector byte (reader, dataset name, row limit) and the
//                 file image of each spec, plus one ann-benchmarks-like file
//                 holding train, test, neighbors and distances
// Valid files (float32 and float64, contiguous, compact, chunked and
// deflate-compressed, both file format generations, a zero-row dataset) and
// crafted ones: shapes with no stored data such as (2^40, 128), a shape
// whose byte size wraps, data kept in an external file, names that are
// links or groups, non-numeric element types.
#include <hdf5.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "hdf5_file_spec.h"

namespace {

using vindex_fuzz::Hdf5FileSpec;
using vindex_fuzz::Hdf5Layout;
using vindex_fuzz::Hdf5Link;

// Element type table indices (hdf5_file_spec.cc).
enum Type : uint8_t {
  kF32 = 0,
  kF64BE = 3,
  kF64 = 2,
  kHalf = 4,
  kU8 = 6,
  kI32 = 9,
  kI64 = 12,
  kString = 14,
  kCompound = 15
};
enum Name : uint8_t { kTrain = 0, kTest = 1, kNeighbors = 2, kDistances = 3 };

int written = 0;

bool WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.good()) return false;
  ++written;
  return true;
}

// A fully written rows x cols dataset, read back by name.
Hdf5FileSpec Plain(uint8_t name, uint8_t type, uint64_t rows, uint64_t cols) {
  Hdf5FileSpec s;
  s.read_int = name == kNeighbors;
  s.read_name = s.name = name;
  s.type = type;
  s.rows = rows;
  s.cols = cols;
  s.write_rows = static_cast<uint32_t>(rows);
  return s;
}

Hdf5FileSpec Chunked(Hdf5FileSpec s, uint32_t chunk_rows, uint8_t deflate) {
  s.layout = Hdf5Layout::kChunked;
  s.chunk_rows = chunk_rows;
  s.chunk_cols = static_cast<uint32_t>(s.cols);
  s.deflate = deflate;
  return s;
}

std::vector<std::pair<std::string, Hdf5FileSpec>> Specs() {
  std::vector<std::pair<std::string, Hdf5FileSpec>> out;
  out.push_back({"train_f32", Plain(kTrain, kF32, 100, 8)});
  out.push_back({"test_f64", Plain(kTest, kF64, 20, 8)});
  out.push_back({"test_f64_big_endian", Plain(kTest, kF64BE, 20, 8)});
  out.push_back({"distances_f32", Plain(kDistances, kF32, 20, 10)});
  out.push_back(
      {"neighbors_i32", Chunked(Plain(kNeighbors, kI32, 20, 10), 8, 0)});
  out.push_back({"neighbors_i64", Plain(kNeighbors, kI64, 20, 10)});
  out.push_back({"train_u8", Plain(kTrain, kU8, 50, 16)});
  out.push_back({"train_half", Plain(kTrain, kHalf, 30, 4)});
  Hdf5FileSpec s = Chunked(Plain(kTrain, kF32, 200, 16), 32, 6);
  s.shuffle = true;
  out.push_back({"train_f32_chunked_deflate_shuffle", s});
  s = Chunked(Plain(kTrain, kF64, 120, 8), 16, 4);
  s.latest_format = true;
  s.fletcher32 = true;
  out.push_back({"train_f64_chunked_deflate_latest_format", s});
  s = Chunked(Plain(kTrain, kF32, 64, 8), 64, 0);
  s.latest_format = true;
  s.chunks_early = true;
  out.push_back({"train_f32_single_chunk_latest_format", s});
  s = Plain(kTrain, kF32, 10, 4);
  s.layout = Hdf5Layout::kCompact;
  out.push_back({"train_f32_compact", s});
  s = Plain(kTrain, kF32, 40, 8);
  s.layout = Hdf5Layout::kContiguousEarly;
  s.write_start = 10;
  s.write_rows = 5;
  s.has_fill = true;
  s.fill = 3;
  out.push_back({"train_f32_partly_written_fill", s});
  s = Plain(kTrain, kF32, 100, 8);
  s.max_rows = 7;
  out.push_back({"train_f32_row_limit", s});
  out.push_back({"train_zero_rows", Plain(kTrain, kF32, 0, 8)});
  s = Chunked(Plain(kTrain, kF32, 0, 8), 4, 6);
  s.unlimited_rows = true;
  out.push_back({"train_zero_rows_chunked", s});

  // Crafted: declared shapes with nothing (or little) stored behind them.
  const uint64_t huge = uint64_t{1} << 40;
  s = Plain(kTrain, kF32, huge, 128);
  s.write_rows = 0;
  out.push_back({"crafted_2e40x128_contiguous_unallocated", s});
  out.push_back({"crafted_2e40x128_chunked_unallocated", Chunked(s, 1024, 6)});
  s = Chunked(s, 64, 6);
  s.unlimited_rows = true;
  s.write_rows = 64;
  out.push_back({"crafted_2e40x128_sparse_64_rows_written", s});
  s = Chunked(Plain(kTrain, kF32, uint64_t{1} << 62, 16), 1024, 6);
  s.write_rows = 0;
  out.push_back({"crafted_shape_size_wraps", s});
  s = Plain(kTrain, kF32, 100, (uint64_t{1} << 20) + 1);
  s.write_rows = 0;
  out.push_back({"crafted_too_many_columns", s});
  s = Plain(kTrain, kF32, 1000, 16);
  s.write_rows = 0;
  s.external = true;
  out.push_back({"crafted_external_storage", s});
  s.external_bytes = 1000 * 16 * 4;
  out.push_back({"crafted_external_storage_sized", s});

  // Names that are not plain datasets, shapes that are not 2-D, types that
  // are not numbers.
  s = Plain(kTrain, kF32, 10, 4);
  s.link = Hdf5Link::kSoftLink;
  out.push_back({"train_soft_link", s});
  s.link = Hdf5Link::kExternalLink;
  out.push_back({"crafted_train_external_link", s});
  s.link = Hdf5Link::kGroup;
  out.push_back({"crafted_train_is_a_group", s});
  s = Plain(kTrain, kF32, 10, 4);
  s.rank = 1;
  out.push_back({"crafted_rank_1", s});
  s.rank = 3;
  out.push_back({"crafted_rank_3", s});
  s.rank = 0;
  out.push_back({"crafted_scalar", s});
  out.push_back({"crafted_string_type", Plain(kTrain, kString, 10, 4)});
  out.push_back({"crafted_compound_type", Plain(kTrain, kCompound, 10, 4)});
  out.push_back({"crafted_neighbors_float", Plain(kNeighbors, kF32, 20, 10)});
  s = Plain(kTrain, kF32, 10, 4);
  s.read_name = kTest;
  out.push_back({"missing_dataset", s});
  return out;
}

// One file in the layout ann-benchmarks publishes.
std::optional<std::string> AnnBenchmarksLike() {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 1 << 16, false);
  hid_t f =
      H5Fcreate("ann_benchmarks_like.hdf5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (f < 0) return std::nullopt;
  {
    const char metric[] = "euclidean";
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, sizeof(metric) - 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "distance", type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, metric);
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
  }
  auto dataset = [&](const char* name, hid_t type, hsize_t rows, hsize_t cols,
                     hid_t mem_type, const void* data) {
    hsize_t dims[2] = {rows, cols};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t d =
        H5Dcreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(d);
    H5Sclose(space);
  };
  std::vector<float> train(64 * 8), test(8 * 8), distances(8 * 5);
  std::vector<int32_t> neighbors(8 * 5);
  for (size_t i = 0; i < train.size(); ++i) train[i] = 0.5f * (i % 37);
  for (size_t i = 0; i < test.size(); ++i) test[i] = 0.25f * (i % 11);
  for (size_t i = 0; i < neighbors.size(); ++i) {
    neighbors[i] = static_cast<int32_t>((i * 13) % 64);
    distances[i] = 0.1f * i;
  }
  dataset("train", H5T_IEEE_F32LE, 64, 8, H5T_NATIVE_FLOAT, train.data());
  dataset("test", H5T_IEEE_F32LE, 8, 8, H5T_NATIVE_FLOAT, test.data());
  dataset("neighbors", H5T_STD_I32LE, 8, 5, H5T_NATIVE_INT32, neighbors.data());
  dataset("distances", H5T_IEEE_F32LE, 8, 5, H5T_NATIVE_FLOAT,
          distances.data());
  H5Fflush(f, H5F_SCOPE_GLOBAL);
  const ssize_t size = H5Fget_file_image(f, nullptr, 0);
  std::string image(size > 0 ? static_cast<size_t>(size) : 0, '\0');
  const bool ok =
      size > 0 && H5Fget_file_image(f, image.data(), image.size()) == size;
  H5Fclose(f);
  if (!ok) return std::nullopt;
  return image;
}

// The raw fuzzer's selector byte for reading `name` (see its header).
char Selector(bool read_int, uint8_t name, uint8_t max_rows) {
  return static_cast<char>((read_int ? 1 : 0) | (name & 3) << 1 |
                           (max_rows & 31) << 3);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::string shape_dir = dir + "/hdf5_shape";
  const std::string reader_dir = dir + "/hdf5_reader";
  mkdir(dir.c_str(), 0755);
  mkdir(shape_dir.c_str(), 0755);
  mkdir(reader_dir.c_str(), 0755);
  int failed = 0;
  for (const auto& [name, spec] : Specs()) {
    if (!WriteFile(shape_dir + "/" + name,
                   vindex_fuzz::EncodeHdf5FileSpec(spec))) {
      ++failed;
    }
    const std::optional<std::string> image = vindex_fuzz::BuildHdf5Image(spec);
    if (!image) {
      std::fprintf(stderr, "HDF5 refused to write the seed %s\n", name.c_str());
      ++failed;
      continue;
    }
    const char selector =
        Selector(spec.read_int, spec.read_name, spec.max_rows);
    if (!WriteFile(reader_dir + "/" + name, selector + *image)) ++failed;
  }
  if (const auto image = AnnBenchmarksLike()) {
    for (uint8_t name : {kTrain, kTest, kNeighbors, kDistances}) {
      const std::string file = reader_dir + "/ann_benchmarks_like_" +
                               vindex_fuzz::kHdf5DatasetNames[name];
      if (!WriteFile(file, Selector(name == kNeighbors, name, 0) + *image)) {
        ++failed;
      }
    }
  } else {
    ++failed;
  }
  std::printf("wrote %d HDF5 seed files into %s\n", written, dir.c_str());
  return failed == 0 ? 0 : 1;
}
