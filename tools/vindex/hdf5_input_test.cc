// The tool's HDF5 reader on files written here with the HDF5 C API: plain
// and compressed datasets load; declared shapes with no data behind them, or
// whose size wraps, are clean errors (never an allocation the file does not
// justify, never an abort).
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "inputs.h"

namespace vindex::cli {
namespace {

class Hdf5InputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/vindex_hdf5_input_" +
            std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() +
            ".hdf5";
    file_ = H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(file_, 0);
  }
  void TearDown() override {
    if (file_ >= 0) H5Fclose(file_);
    std::remove(path_.c_str());
  }
  // Closes the file so the reader sees everything written.
  void Finish() {
    ASSERT_GE(H5Fclose(file_), 0);
    file_ = -1;
  }

  // A rows x cols dataset named `name`; chunk_rows > 0 makes it chunked
  // (deflate-compressed when `deflate`). Values are written when `data` is
  // not null.
  void Dataset(const std::string& name, hsize_t rows, hsize_t cols, hid_t type,
               hsize_t chunk_rows, bool deflate, const void* data,
               hid_t mem_type) {
    hsize_t dims[2] = {rows, cols};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    ASSERT_GE(space, 0);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (chunk_rows > 0) {
      hsize_t chunk[2] = {chunk_rows, cols};
      ASSERT_GE(H5Pset_chunk(dcpl, 2, chunk), 0);
      if (deflate) ASSERT_GE(H5Pset_deflate(dcpl, 6), 0);
    } else {
      ASSERT_GE(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE), 0);
    }
    hid_t d = H5Dcreate2(file_, name.c_str(), type, space, H5P_DEFAULT, dcpl,
                         H5P_DEFAULT);
    ASSERT_GE(d, 0);
    if (data != nullptr) {
      ASSERT_GE(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
    }
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
  }

  std::string path_;
  hid_t file_ = -1;
};

std::vector<float> Values(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.25f * i - 7.0f;
  return v;
}

TEST_F(Hdf5InputTest, CompressedChunkedDatasetsLoad) {
  const std::vector<float> v = Values(1000 * 16);
  Dataset("train", 1000, 16, H5T_IEEE_F32LE, 64, /*deflate=*/true, v.data(),
          H5T_NATIVE_FLOAT);
  Dataset("plain", 1000, 16, H5T_IEEE_F32LE, 0, false, v.data(),
          H5T_NATIVE_FLOAT);
  std::vector<int32_t> gt(50 * 10);
  for (size_t i = 0; i < gt.size(); ++i) gt[i] = static_cast<int32_t>(i * 3);
  Dataset("neighbors", 50, 10, H5T_STD_I32LE, 8, /*deflate=*/true, gt.data(),
          H5T_NATIVE_INT32);
  Finish();
  for (const char* name : {"train", "plain"}) {
    SCOPED_TRACE(name);
    auto m = ReadHdf5Float(path_, name, 0);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->rows, 1000);
    EXPECT_EQ(m->cols, 16);
    EXPECT_EQ(m->data, v);
  }
  auto head = ReadHdf5Float(path_, "train", 100);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->rows, 100);
  EXPECT_EQ(head->data, std::vector<float>(v.begin(), v.begin() + 1600));
  auto ints = ReadHdf5Int(path_, "neighbors", 0);
  ASSERT_TRUE(ints.ok()) << ints.status();
  EXPECT_EQ(ints->data, gt);
}

TEST_F(Hdf5InputTest, ShapesWithoutDataAreRefused) {
  const hsize_t huge = hsize_t{1} << 40;
  // Declared (2^40, 128) with nothing stored: contiguous, and chunked.
  Dataset("contiguous", huge, 128, H5T_IEEE_F32LE, 0, false, nullptr, 0);
  Dataset("chunked", huge, 128, H5T_IEEE_F32LE, 1024, true, nullptr, 0);
  // Some chunks written, far fewer than the shape needs.
  const std::vector<float> v = Values(64 * 128);
  {
    hsize_t dims[2] = {huge, 128}, max[2] = {H5S_UNLIMITED, 128};
    hid_t space = H5Screate_simple(2, dims, max);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[2] = {64, 128};
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_deflate(dcpl, 6);
    hid_t d = H5Dcreate2(file_, "sparse", H5T_IEEE_F32LE, space, H5P_DEFAULT,
                         dcpl, H5P_DEFAULT);
    ASSERT_GE(d, 0);
    hsize_t start[2] = {0, 0}, count[2] = {64, 128};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
    hid_t mem = H5Screate_simple(2, count, nullptr);
    ASSERT_GE(H5Dwrite(d, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, v.data()),
              0);
    H5Sclose(mem);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
  }
  Finish();
  for (const char* name : {"contiguous", "chunked", "sparse"}) {
    SCOPED_TRACE(name);
    auto m = ReadHdf5Float(path_, name, 0);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss) << m.status();
  }
  // The written rows of the sparse dataset can still be read.
  auto head = ReadHdf5Float(path_, "sparse", 64);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->data, v);
}

TEST_F(Hdf5InputTest, ShapeWhoseSizeWrapsIsRefused) {
  // 2^62 rows of 16 floats: rows * cols * 4 bytes wraps 64 bits.
  Dataset("wraps", hsize_t{1} << 62, 16, H5T_IEEE_F32LE, 1024, true, nullptr,
          0);
  Finish();
  auto m = ReadHdf5Float(path_, "wraps", 0);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument)
      << m.status();
}

// The reader takes data only from the file it is given: not from external
// raw-data files a dataset may name, nor through links to other HDF5 files.
TEST_F(Hdf5InputTest, DataOutsideTheFileIsRefused) {
  const std::vector<float> v = Values(100 * 16);
  const std::string raw_path = path_ + ".raw";
  const std::string other_path = path_ + ".other.hdf5";
  {
    FILE* raw = std::fopen(raw_path.c_str(), "wb");
    ASSERT_NE(raw, nullptr);
    ASSERT_EQ(std::fwrite(v.data(), sizeof(float), v.size(), raw), v.size());
    std::fclose(raw);
    hid_t other =
        H5Fcreate(other_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(other, 0);
    std::swap(other, file_);
    Dataset("train", 100, 16, H5T_IEEE_F32LE, 0, false, v.data(),
            H5T_NATIVE_FLOAT);
    std::swap(other, file_);
    ASSERT_GE(H5Fclose(other), 0);
  }
  {
    // 100 x 16 floats whose bytes live in the raw file.
    hsize_t dims[2] = {100, 16};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ASSERT_GE(H5Pset_external(dcpl, raw_path.c_str(), 0, v.size() * 4), 0);
    hid_t d = H5Dcreate2(file_, "external_storage", H5T_IEEE_F32LE, space,
                         H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(d, 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
  }
  ASSERT_GE(H5Lcreate_external(other_path.c_str(), "/train", file_,
                               "external_link", H5P_DEFAULT, H5P_DEFAULT),
            0);
  Finish();
  for (const char* name : {"external_storage", "external_link"}) {
    SCOPED_TRACE(name);
    auto m = ReadHdf5Float(path_, name, 0);
    EXPECT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument)
        << m.status();
  }
  std::remove(raw_path.c_str());
  std::remove(other_path.c_str());
}

// Values the reader's type cannot hold are refused, never clamped: an int64
// neighbour id of 2^40 must not become 2^31 - 1, nor a float64 of 1e300 an
// infinity. In-range values of wider types load exactly.
TEST_F(Hdf5InputTest, ValuesOutOfRangeAreRefused) {
  const std::vector<int64_t> ids = {1, 2, int64_t{1} << 40, 4};
  const std::vector<int64_t> small_ids = {1, 2, -3, 4};
  const std::vector<double> big = {1.0, -1e300, 2.0, 3.0};
  const std::vector<double> fine = {1.0, -1e30, 2.5, 3.0};
  Dataset("ids", 2, 2, H5T_STD_I64LE, 0, false, ids.data(), H5T_NATIVE_INT64);
  Dataset("small_ids", 2, 2, H5T_STD_I64LE, 0, false, small_ids.data(),
          H5T_NATIVE_INT64);
  Dataset("big", 2, 2, H5T_IEEE_F64LE, 0, false, big.data(), H5T_NATIVE_DOUBLE);
  Dataset("fine", 2, 2, H5T_IEEE_F64LE, 0, false, fine.data(),
          H5T_NATIVE_DOUBLE);
  Finish();
  auto ints = ReadHdf5Int(path_, "ids", 0);
  EXPECT_FALSE(ints.ok());
  EXPECT_EQ(ints.status().code(), absl::StatusCode::kInvalidArgument)
      << ints.status();
  auto floats = ReadHdf5Float(path_, "big", 0);
  EXPECT_FALSE(floats.ok());
  EXPECT_EQ(floats.status().code(), absl::StatusCode::kInvalidArgument)
      << floats.status();
  auto small = ReadHdf5Int(path_, "small_ids", 0);
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->data, std::vector<int32_t>({1, 2, -3, 4}));
  auto in_range = ReadHdf5Float(path_, "fine", 0);
  ASSERT_TRUE(in_range.ok()) << in_range.status();
  EXPECT_EQ(in_range->data, std::vector<float>({1.0f, -1e30f, 2.5f, 3.0f}));
}

// A damaged layout that claims more stored bytes than the whole file holds
// is DataLoss before anything is allocated: here the undefined address of an
// unallocated (2^40, 128) dataset is patched to 0, so the library reports
// 2^49 bytes stored in a file of a few kilobytes.
TEST_F(Hdf5InputTest, StorageLargerThanTheFileIsRefused) {
  const uint64_t huge = uint64_t{1} << 40;
  Dataset("train", huge, 128, H5T_IEEE_F32LE, 0, false, nullptr, 0);
  Finish();
  std::string bytes;
  {
    FILE* in = std::fopen(path_.c_str(), "rb");
    ASSERT_NE(in, nullptr);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), in)) > 0) bytes.append(buf, n);
    std::fclose(in);
  }
  // The contiguous layout message: address (undefined) then size.
  std::string pattern(8, '\xff');
  const uint64_t size = huge * 128 * 4;
  pattern.append(reinterpret_cast<const char*>(&size), 8);
  const size_t at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(bytes.find(pattern, at + 1), std::string::npos);
  std::fill_n(bytes.begin() + at, 8, '\0');
  {
    FILE* out = std::fopen(path_.c_str(), "wb");
    ASSERT_NE(out, nullptr);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), out), bytes.size());
    std::fclose(out);
  }
  auto m = ReadHdf5Float(path_, "train", 0);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss) << m.status();
}

}  // namespace
}  // namespace vindex::cli
