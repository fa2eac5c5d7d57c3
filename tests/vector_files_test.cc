#include "vindex/vector_files.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace vindex {
namespace {

namespace fs = std::filesystem;

class VectorFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vindex_vector_files_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) { return (dir_ / name).string(); }

  void WriteBytes(const std::string& path, const std::string& bytes) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
  }

  template <typename T>
  static void Append(std::string* s, T v) {
    s->append(reinterpret_cast<const char*>(&v), sizeof(v));
  }

  static std::string NpyBytes(const std::string& dict,
                              const std::string& data) {
    std::string h = dict;
    size_t total = 10 + h.size() + 1;
    h.append((64 - total % 64) % 64, ' ');
    h.push_back('\n');
    std::string out = "\x93NUMPY";
    out.push_back(1);
    out.push_back(0);
    Append<uint16_t>(&out, static_cast<uint16_t>(h.size()));
    return out + h + data;
  }

  fs::path dir_;
};

std::vector<float> Sample(int64_t rows, int cols) {
  std::vector<float> v(rows * cols);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5f * i - 3.0f;
  return v;
}

TEST_F(VectorFilesTest, FvecsRoundTrip) {
  auto v = Sample(7, 5);
  ASSERT_TRUE(WriteFvecs(Path("a.fvecs"), {v.data(), 7, 5}).ok());
  EXPECT_EQ(fs::file_size(Path("a.fvecs")), 7u * (4 + 5 * 4));
  auto m = ReadFloatVectors(Path("a.fvecs"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rows, 7);
  EXPECT_EQ(m->cols, 5);
  EXPECT_EQ(m->data, v);
  auto head = ReadFvecs(Path("a.fvecs"), {.max_rows = 3});
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->rows, 3);
  EXPECT_EQ(head->data, std::vector<float>(v.begin(), v.begin() + 15));
}

TEST_F(VectorFilesTest, IvecsRoundTrip) {
  std::vector<int32_t> v = {1, -2, 3, 4, 5, 6};
  ASSERT_TRUE(WriteIvecs(Path("g.ivecs"), {v.data(), 2, 3}).ok());
  auto m = ReadIntVectors(Path("g.ivecs"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rows, 2);
  EXPECT_EQ(m->cols, 3);
  EXPECT_EQ(m->data, v);
}

TEST_F(VectorFilesTest, BvecsReadAsFloat) {
  std::string bytes;
  for (int r = 0; r < 3; ++r) {
    Append<int32_t>(&bytes, 4);
    for (int j = 0; j < 4; ++j) bytes.push_back(static_cast<char>(250 + j));
  }
  WriteBytes(Path("b.bvecs"), bytes);
  auto m = ReadFloatVectors(Path("b.bvecs"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rows, 3);
  EXPECT_EQ(m->cols, 4);
  EXPECT_EQ(m->data[3], 253.0f);
}

TEST_F(VectorFilesTest, NpyRoundTripAndVariants) {
  auto v = Sample(4, 3);
  ASSERT_TRUE(
      WriteNpy(Path("a.npy"), MatrixView<const float>(v.data(), 4, 3)).ok());
  auto m = ReadFloatVectors(Path("a.npy"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rows, 4);
  EXPECT_EQ(m->cols, 3);
  EXPECT_EQ(m->data, v);

  std::vector<int32_t> g = {7, 8, 9, 10};
  ASSERT_TRUE(
      WriteNpy(Path("g.npy"), MatrixView<const int32_t>(g.data(), 2, 2)).ok());
  auto gi = ReadIntVectors(Path("g.npy"));
  ASSERT_TRUE(gi.ok()) << gi.status();
  EXPECT_EQ(gi->data, g);

  // float64 and int64, written by hand.
  std::string d8, i8;
  for (int i = 0; i < 6; ++i) Append<double>(&d8, i * 0.25);
  for (int i = 0; i < 6; ++i) Append<int64_t>(&i8, i * 3);
  WriteBytes(Path("d.npy"), NpyBytes("{'descr': '<f8', 'fortran_order': False, "
                                     "'shape': (2, 3), }",
                                     d8));
  WriteBytes(Path("i.npy"), NpyBytes("{'descr': '<i8', 'fortran_order': False, "
                                     "'shape': (3, 2), }",
                                     i8));
  auto d = ReadNpyFloat(Path("d.npy"));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->data[5], 1.25f);
  auto i = ReadNpyInt32(Path("i.npy"));
  ASSERT_TRUE(i.ok()) << i.status();
  EXPECT_EQ(i->rows, 3);
  EXPECT_EQ(i->data[5], 15);
}

// Expects the read to fail with `code` and a message naming the file and
// containing `needle`.
template <typename R>
void ExpectError(const R& result, absl::StatusCode code,
                 const std::string& path, const std::string& needle) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status();
  std::string msg(result.status().message());
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find(needle), std::string::npos) << msg;
}

TEST_F(VectorFilesTest, MalformedVecs) {
  // Missing file.
  ExpectError(ReadFvecs(Path("none.fvecs")), absl::StatusCode::kNotFound,
              Path("none.fvecs"), "cannot open");
  // Empty file.
  WriteBytes(Path("e.fvecs"), "");
  ExpectError(ReadFvecs(Path("e.fvecs")), absl::StatusCode::kDataLoss,
              Path("e.fvecs"), "empty");
  // Hostile dimension.
  std::string hostile;
  Append<int32_t>(&hostile, -5);
  Append<float>(&hostile, 1.0f);
  WriteBytes(Path("h.fvecs"), hostile);
  ExpectError(ReadFvecs(Path("h.fvecs")), absl::StatusCode::kDataLoss,
              Path("h.fvecs"), "bad dimension -5");
  // Huge dimension in a small file: no allocation, a clear error.
  std::string huge;
  Append<int32_t>(&huge, 1 << 19);
  Append<float>(&huge, 1.0f);
  WriteBytes(Path("g.fvecs"), huge);
  ExpectError(ReadFvecs(Path("g.fvecs")), absl::StatusCode::kDataLoss,
              Path("g.fvecs"), "truncated record");
  // Truncated last record.
  auto v = Sample(3, 4);
  ASSERT_TRUE(WriteFvecs(Path("t.fvecs"), {v.data(), 3, 4}).ok());
  fs::resize_file(Path("t.fvecs"), 3 * 20 - 6);
  ExpectError(ReadFvecs(Path("t.fvecs")), absl::StatusCode::kDataLoss,
              Path("t.fvecs"), "truncated record: row 2");
  // Ragged rows.
  std::string ragged;
  Append<int32_t>(&ragged, 2);
  Append<float>(&ragged, 1.0f);
  Append<float>(&ragged, 2.0f);
  Append<int32_t>(&ragged, 3);
  for (int i = 0; i < 3; ++i) Append<float>(&ragged, 1.0f);
  WriteBytes(Path("r.fvecs"), ragged);
  ExpectError(ReadFvecs(Path("r.fvecs")), absl::StatusCode::kDataLoss,
              Path("r.fvecs"), "row 1 has dimension 3");
  // NaN values.
  std::string nan;
  Append<int32_t>(&nan, 1);
  Append<float>(&nan, std::numeric_limits<float>::quiet_NaN());
  WriteBytes(Path("n.fvecs"), nan);
  ExpectError(ReadFvecs(Path("n.fvecs")), absl::StatusCode::kInvalidArgument,
              Path("n.fvecs"), "non-finite");
  // Unknown extension.
  ExpectError(ReadFloatVectors(Path("x.txt")),
              absl::StatusCode::kInvalidArgument, Path("x.txt"),
              "unknown vector file extension");
  ExpectError(ReadIntVectors(Path("x.fvecs")),
              absl::StatusCode::kInvalidArgument, Path("x.fvecs"),
              "expected .ivecs or .npy");
}

TEST_F(VectorFilesTest, MalformedNpy) {
  std::string data(2 * 3 * 4, '\0');
  auto write = [&](const std::string& name, const std::string& dict,
                   const std::string& payload) {
    WriteBytes(Path(name), NpyBytes(dict, payload));
  };
  WriteBytes(Path("magic.npy"), "NOTNUMPY000000000000");
  ExpectError(ReadNpyFloat(Path("magic.npy")),
              absl::StatusCode::kInvalidArgument, Path("magic.npy"),
              "bad magic");
  write("fortran.npy",
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data);
  ExpectError(ReadNpyFloat(Path("fortran.npy")),
              absl::StatusCode::kInvalidArgument, Path("fortran.npy"),
              "Fortran");
  write("dtype.npy",
        "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", data);
  ExpectError(ReadNpyFloat(Path("dtype.npy")),
              absl::StatusCode::kInvalidArgument, Path("dtype.npy"),
              "unsupported dtype <c8");
  write("big.npy",
        "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data);
  ExpectError(ReadNpyFloat(Path("big.npy")), absl::StatusCode::kInvalidArgument,
              Path("big.npy"), "unsupported dtype >f4");
  write("oned.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }",
        data);
  ExpectError(ReadNpyFloat(Path("oned.npy")),
              absl::StatusCode::kInvalidArgument, Path("oned.npy"),
              "expected a 2-D array");
  write("short.npy",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", data);
  ExpectError(ReadNpyFloat(Path("short.npy")), absl::StatusCode::kDataLoss,
              Path("short.npy"), "truncated");
  write("hostile.npy",
        "{'descr': '<f4', 'fortran_order': False, "
        "'shape': (999999999999999, 3), }",
        data);
  ExpectError(ReadNpyFloat(Path("hostile.npy")), absl::StatusCode::kDataLoss,
              Path("hostile.npy"), "truncated");
  write("int.npy",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", data);
  ExpectError(ReadNpyFloat(Path("int.npy")), absl::StatusCode::kInvalidArgument,
              Path("int.npy"), "expected a float array");
  write("float.npy",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data);
  ExpectError(ReadNpyInt32(Path("float.npy")),
              absl::StatusCode::kInvalidArgument, Path("float.npy"),
              "expected an integer array");
  // Header length beyond the file.
  std::string cut = NpyBytes(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data);
  WriteBytes(Path("cut.npy"), cut.substr(0, 30));
  ExpectError(ReadNpyFloat(Path("cut.npy")), absl::StatusCode::kDataLoss,
              Path("cut.npy"), "header declares");
}

// The header dict is read as the Python literal it is: a key inside a
// nested value is not the key itself, and what numpy refuses is refused.
TEST_F(VectorFilesTest, NpyHeaderIsParsedAsADict) {
  std::string data;
  for (int i = 0; i < 6; ++i) Append<float>(&data, static_cast<float>(i));
  auto read = [&](const std::string& name, const std::string& dict) {
    WriteBytes(Path(name), NpyBytes(dict, data));
    return ReadNpyFloat(Path(name));
  };
  // A decoy 'fortran_order': False nested before the real True: numpy loads
  // this transposed if at all; we must not read it as C order.
  auto decoy = read("decoy.npy",
                    "{'descr': '<f4', 'meta': {'fortran_order': False}, "
                    "'fortran_order': True, 'shape': (2, 3), }");
  EXPECT_FALSE(decoy.ok());
  // Nested decoys for the other keys, and a string holding key-like text.
  EXPECT_FALSE(read("decoy_shape.npy",
                    "{'descr': '<f4', 'fortran_order': False, "
                    "'x': {'shape': (3, 2)}, 'shape': (2, 3)}")
                   .ok());
  EXPECT_FALSE(read("decoy_descr.npy",
                    "{'descr': \"'descr': '<f4'\", 'fortran_order': False, "
                    "'shape': (2, 3)}")
                   .ok());
  // numpy's rules: exactly three keys, a bool, a tuple of ints.
  for (const std::string& dict : std::vector<std::string>{
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}",
           "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}",
           "{'descr': '<f4', 'fortran_order': 'False', 'shape': (2, 3)}",
           "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3.0)}",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}",
           "{'descr': '<f4', 'fortran_order': False 'shape': (2, 3)}",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)",
           "['descr', '<f4']",
           "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 3)}",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (02, 3)}",
           "{'descr': '<f4', 'fortran_order': False, 'shape': "
           "(99999999999999999999, 3)}",
           // Nesting deeper than Python parses.
           "{'descr': '<f4', 'fortran_order': False, 'shape': " +
               std::string(300, '(') + "2, 3" + std::string(300, ')') + "}",
       }) {
    SCOPED_TRACE(dict);
    auto m = read("bad.npy", dict);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  }
  // What numpy accepts: any order, either quote, no trailing comma, extra
  // whitespace, a repeated key taking its last value, Python 2 longs.
  for (const char* dict : {
           "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
           "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3)}",
           "{ 'descr' : '<f4' ,\n 'fortran_order' : False , 'shape' : ( 2 , 3 "
           ", ) , }",
           "{'descr': '<f4', 'fortran_order': True, 'fortran_order': False, "
           "'shape': (2, 3)}",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
           // Parentheses around a value, as Python allows.
           "{'descr': '<f4', 'fortran_order': (False), 'shape': ((2, 3))}",
       }) {
    SCOPED_TRACE(dict);
    auto m = read("good.npy", dict);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->rows, 2);
    EXPECT_EQ(m->cols, 3);
    EXPECT_EQ(m->data[5], 5.0f);
  }
}

// Damaged copies of valid files (random bytes changed, random truncation)
// must give a result or an error, never a crash or a huge allocation.
TEST_F(VectorFilesTest, RandomDamageNeverCrashes) {
  auto v = Sample(20, 6);
  std::vector<int32_t> g(20 * 6, 3);
  ASSERT_TRUE(WriteFvecs(Path("a.fvecs"), {v.data(), 20, 6}).ok());
  ASSERT_TRUE(WriteIvecs(Path("a.ivecs"), {g.data(), 20, 6}).ok());
  ASSERT_TRUE(
      WriteNpy(Path("a.npy"), MatrixView<const float>(v.data(), 20, 6)).ok());
  uint64_t state = 12345;
  auto next = [&state]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  for (const char* name : {"a.fvecs", "a.ivecs", "a.npy"}) {
    std::string good;
    {
      std::FILE* f = std::fopen(Path(name).c_str(), "rb");
      ASSERT_NE(f, nullptr);
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) good.append(buf, n);
      std::fclose(f);
    }
    const std::string ext = fs::path(name).extension().string();
    for (int trial = 0; trial < 300; ++trial) {
      std::string bad = good;
      const int flips = 1 + next() % 4;
      for (int i = 0; i < flips; ++i) {
        // Bias towards the headers, where lengths live.
        size_t at = (next() % 2 == 0)
                        ? next() % std::min<size_t>(80, bad.size())
                        : next() % bad.size();
        bad[at] = static_cast<char>(next());
      }
      if (next() % 4 == 0) bad.resize(next() % bad.size());
      const std::string path = Path("bad" + ext);
      WriteBytes(path, bad);
      if (ext == ".ivecs") {
        auto m = ReadIntVectors(path);
        if (m.ok()) EXPECT_EQ(m->data.size(), size_t(m->rows * m->cols));
      } else {
        auto m = ReadFloatVectors(path);
        if (m.ok()) EXPECT_EQ(m->data.size(), size_t(m->rows * m->cols));
      }
    }
  }
}

TEST_F(VectorFilesTest, RowRangesReadOnlyTheirRows) {
  const std::vector<float> v = Sample(10, 3);
  MatrixView<const float> m(v.data(), 10, 3);
  for (const char* name : {"r.fvecs", "r.npy"}) {
    const std::string path = Path(name);
    ASSERT_TRUE(name[2] == 'f' ? WriteFvecs(path, m).ok()
                               : WriteNpy(path, m).ok());
    auto shape = ReadVectorFileShape(path);
    ASSERT_TRUE(shape.ok()) << shape.status();
    EXPECT_EQ(shape->rows, 10);
    EXPECT_EQ(shape->dim, 3);
    auto rows = ReadFloatVectorRows(path, 4, 5);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(rows->rows, 5);
    EXPECT_EQ(rows->cols, 3);
    EXPECT_EQ(rows->data, std::vector<float>(v.begin() + 12, v.begin() + 27));
    EXPECT_TRUE(ReadFloatVectorRows(path, 10, 0).ok());
    EXPECT_EQ(ReadFloatVectorRows(path, 8, 3).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ReadFloatVectorRows(path, -1, 2).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(VectorFilesTest, RowRangesCheckTheRowsTheyRead) {
  const std::vector<float> v = Sample(6, 2);
  const std::string path = Path("bad.fvecs");
  ASSERT_TRUE(WriteFvecs(path, MatrixView<const float>(v.data(), 6, 2)).ok());
  // Row 4's dimension header says 3; row 4's value 0 becomes NaN in row 1.
  std::string bytes;
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    char buf[256];
    size_t n = std::fread(buf, 1, sizeof(buf), f);
    std::fclose(f);
    bytes.assign(buf, n);
  }
  const int32_t three = 3;
  std::memcpy(&bytes[4 * 12], &three, 4);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&bytes[1 * 12 + 4], &nan, 4);
  WriteBytes(path, bytes);
  EXPECT_TRUE(ReadFloatVectorRows(path, 2, 2).ok());  // Rows 2, 3 are sound.
  EXPECT_EQ(ReadFloatVectorRows(path, 3, 2).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadFloatVectorRows(path, 0, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  WriteBytes(path, bytes.substr(0, bytes.size() - 1));
  EXPECT_EQ(ReadVectorFileShape(path).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadVectorFileShape(Path("none.fvecs")).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vindex
