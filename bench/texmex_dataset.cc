// Reads a TEXMEX dataset (see bench_common.h: LoadTexmexDataset).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench_common.h"

namespace vindex::bench {
namespace {

namespace fs = std::filesystem;

// Reads a TEXMEX .fvecs / .ivecs file (int32 d, then d 4-byte values, per
// row) into `out`; returns "" or an error.
template <typename T>
std::string ReadVecs(const std::string& path, std::vector<T>* out, int* dim,
                     int64_t* rows) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return "cannot open " + path;
  const int64_t bytes = f.tellg();
  f.seekg(0);
  int32_t d = 0;
  if (bytes < 4 || !f.read(reinterpret_cast<char*>(&d), 4) || d <= 0) {
    return path + ": bad header";
  }
  const int64_t row_bytes = 4 + 4 * static_cast<int64_t>(d);
  if (bytes % row_bytes != 0) return path + ": size is not a multiple of rows";
  const int64_t n = bytes / row_bytes;
  out->resize(static_cast<size_t>(n) * d);
  f.seekg(0);
  std::vector<char> row(row_bytes);
  for (int64_t i = 0; i < n; ++i) {
    if (!f.read(row.data(), row_bytes)) return path + ": short read";
    int32_t di;
    std::memcpy(&di, row.data(), 4);
    if (di != d) return path + ": rows of different dimension";
    std::memcpy(out->data() + i * d, row.data() + 4,
                4 * static_cast<size_t>(d));
  }
  *dim = d;
  *rows = n;
  return "";
}

std::string ExecutableDir() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return p.parent_path().string();
}

// Finds DIR/FILE, or unpacks DIR/FILE.zst into the cache folder.
std::string Locate(const std::string& data_dir, const std::string& cache_dir,
                   const std::string& file, std::string* err) {
  fs::path plain = fs::path(data_dir) / file;
  if (fs::exists(plain)) return plain.string();
  fs::path zst = fs::path(data_dir) / (file + ".zst");
  if (!fs::exists(zst)) {
    *err = "neither " + plain.string() + " nor " + zst.string() + " exists";
    return "";
  }
  fs::path cache = cache_dir.empty() ? fs::path(ExecutableDir()) / "data_cache"
                                     : fs::path(cache_dir);
  std::error_code ec;
  fs::create_directories(cache, ec);
  fs::path out = cache / file;
  if (fs::exists(out) && fs::exists(zst) &&
      fs::last_write_time(out) >= fs::last_write_time(zst)) {
    return out.string();
  }
  fs::path tmp = cache / (file + ".tmp");
  std::string cmd = "zstd -d -q -f --long=27 -o '" + tmp.string() + "' '" +
                    zst.string() + "'";
  std::cout << "unpacking " << zst.string() << " -> " << out.string() << "\n";
  if (std::system(cmd.c_str()) != 0) {
    *err = "failed: " + cmd;
    return "";
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    *err = "cannot rename " + tmp.string();
    return "";
  }
  return out.string();
}

}  // namespace

std::string LoadTexmexDataset(const std::string& data_dir,
                              const std::string& dataset,
                              const std::string& cache_dir, Dataset* ds) {
  std::string err;
  ds->name = dataset;
  ds->inner_product = dataset.find("angular") != std::string::npos;
  std::string base = Locate(data_dir, cache_dir, dataset + "_base.fvecs", &err);
  if (base.empty()) return err;
  std::string query =
      Locate(data_dir, cache_dir, dataset + "_query.fvecs", &err);
  if (query.empty()) return err;
  std::string gt =
      Locate(data_dir, cache_dir, dataset + "_groundtruth.ivecs", &err);
  if (gt.empty()) return err;
  int d = 0, dq = 0;
  int64_t nq_gt = 0;
  if (!(err = ReadVecs(base, &ds->base, &ds->dim, &ds->n)).empty()) return err;
  if (!(err = ReadVecs(query, &ds->queries, &dq, &ds->nq)).empty()) return err;
  if (!(err = ReadVecs(gt, &ds->gt, &d, &nq_gt)).empty()) return err;
  ds->gt_k = d;
  if (dq != ds->dim) return "query dim != base dim";
  if (nq_gt != ds->nq) return "ground truth rows != queries";
  return "";
}

}  // namespace vindex::bench
