#include "test_util.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"
#include "io/crc32c.h"
#include "io/format.h"
#include "vindex/io.h"

namespace vindex::testing {

std::vector<float> RandomVectors(int64_t n, int d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n * d);
  for (auto& x : v) x = u(rng);
  return v;
}

std::vector<float> RotatedLike(std::vector<float> v, int d, float falloff,
                               float floor) {
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] *= 4.0f * std::exp(-static_cast<float>(i % d) / falloff) + floor;
  }
  return v;
}

std::vector<float> ClusteredVectors(int64_t n, int d, int clusters,
                                    uint64_t seed, float sigma) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::normal_distribution<float> g(0.0f, sigma);
  std::vector<float> centres(static_cast<size_t>(clusters) * d);
  for (auto& x : centres) x = u(rng);
  std::uniform_int_distribution<int> pick(0, clusters - 1);
  std::vector<float> v(n * d);
  for (int64_t i = 0; i < n; ++i) {
    const int c = pick(rng);
    for (int j = 0; j < d; ++j) v[i * d + j] = centres[c * d + j] + g(rng);
  }
  return v;
}

std::vector<float> CoreAndFarVectors(int64_t n, int d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n * d);
  for (int64_t i = 0; i < n; ++i) {
    const float scale = i % 20 == 0 ? 1000.0f : 1.0f;
    for (int j = 0; j < d; ++j) v[i * d + j] = scale * normal(rng);
  }
  return v;
}

int CountFarRows(const std::vector<float>& v, int d) {
  int far = 0;
  for (size_t r = 0; r < v.size() / d; ++r) {
    double sq = 0;
    for (int j = 0; j < d; ++j) sq += double{v[r * d + j]} * v[r * d + j];
    far += sq > 100.0;
  }
  return far;
}

std::vector<int64_t> SequentialIds(int64_t n, int64_t offset) {
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = offset + i;
  return ids;
}

Neighbors BruteForce(const std::vector<float>& base,
                     const std::vector<int64_t>& base_ids,
                     const std::vector<float>& queries, int d, int k,
                     Metric metric,
                     const std::function<bool(int64_t)>& allowed) {
  const int64_t n = base.size() / d;
  const int64_t nq = queries.size() / d;
  Neighbors out;
  out.ids.assign(nq * k, -1);
  out.distances.assign(nq * k, metric == Metric::kL2 ? INFINITY : -INFINITY);
  std::vector<double> base_norm(n, 1.0);
  if (metric == Metric::kCosine) {
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int j = 0; j < d; ++j)
        s += double(base[i * d + j]) * base[i * d + j];
      base_norm[i] = std::sqrt(s);
    }
  }
  std::vector<std::pair<double, int64_t>> scored;
  for (int64_t q = 0; q < nq; ++q) {
    const float* qv = queries.data() + q * d;
    double qn = 1.0;
    if (metric == Metric::kCosine) {
      double s = 0;
      for (int j = 0; j < d; ++j) s += double(qv[j]) * qv[j];
      qn = std::sqrt(s);
    }
    scored.clear();
    for (int64_t i = 0; i < n; ++i) {
      if (allowed && !allowed(base_ids[i])) continue;
      const float* x = base.data() + i * d;
      double s = 0;
      if (metric == Metric::kL2) {
        for (int j = 0; j < d; ++j) {
          double t = double(qv[j]) - x[j];
          s += t * t;
        }
      } else {
        for (int j = 0; j < d; ++j) s += double(qv[j]) * x[j];
        if (metric == Metric::kCosine) s /= (qn * base_norm[i]);
        s = -s;  // Smaller is closer.
      }
      scored.emplace_back(s, base_ids[i]);
    }
    const size_t kk = std::min<size_t>(k, scored.size());
    std::partial_sort(scored.begin(), scored.begin() + kk, scored.end());
    for (size_t j = 0; j < kk; ++j) {
      out.ids[q * k + j] = scored[j].second;
      out.distances[q * k + j] =
          metric == Metric::kL2 ? scored[j].first : -scored[j].first;
    }
  }
  return out;
}

double RecallAtK(const std::vector<int64_t>& truth, int truth_k,
                 const std::vector<int64_t>& found, int found_k, int k) {
  const int64_t nq = truth.size() / truth_k;
  double hits = 0;
  for (int64_t q = 0; q < nq; ++q) {
    absl::flat_hash_set<int64_t> t(truth.begin() + q * truth_k,
                                   truth.begin() + q * truth_k + k);
    for (int j = 0; j < k; ++j) hits += t.contains(found[q * found_k + j]);
  }
  return hits / (double(nq) * k);
}

SearchResult RunSearch(const Index& index, const std::vector<float>& queries,
                       int d, const SearchParams& params, Executor* executor) {
  const int64_t nq = queries.size() / d;
  const int k = std::max(params.k, 0);  // Bad k is passed on to be rejected.
  SearchResult r;
  r.ids.assign(nq * k, -2);
  r.distances.assign(nq * k, 0);
  r.status =
      index.Search(MatrixView<const float>(queries.data(), nq, d), params,
                   SearchOutput{MatrixView<int64_t>(r.ids.data(), nq, k),
                                MatrixView<float>(r.distances.data(), nq, k)},
                   executor);
  return r;
}

namespace {

std::filesystem::path SharedDataDir() {
  if (const char* env = std::getenv("VINDEX_DATA_DIR")) return env;
  return std::filesystem::path(VINDEX_SOURCE_DIR) / ".." / "shared" / "data";
}

// Returns a path to the plain file, unpacking NAME.zst into the build folder.
std::optional<std::filesystem::path> PlainFile(const std::string& file) {
  auto dir = SharedDataDir();
  if (std::filesystem::exists(dir / file)) return dir / file;
  if (!std::filesystem::exists(dir / (file + ".zst"))) return std::nullopt;
  std::filesystem::path out =
      std::filesystem::path(VINDEX_BINARY_DIR) / "data" / file;
  if (std::filesystem::exists(out)) return out;
  std::filesystem::create_directories(out.parent_path());
  std::string tmp = out.string() + ".part" + std::to_string(::getpid());
  std::string cmd = "zstd -q -d --long=27 -f -o '" + tmp + "' '" +
                    (dir / (file + ".zst")).string() + "'";
  if (std::system(cmd.c_str()) != 0) return std::nullopt;
  std::filesystem::rename(tmp, out);
  return out;
}

template <typename T>
bool ReadVecs(const std::filesystem::path& path, int64_t max_rows,
              std::vector<T>* out, int* dim) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  int32_t d = 0;
  *dim = 0;
  out->clear();
  for (int64_t r = 0; max_rows < 0 || r < max_rows; ++r) {
    if (!in.read(reinterpret_cast<char*>(&d), 4)) break;
    if (d <= 0 || (*dim != 0 && d != *dim)) return false;
    *dim = d;
    size_t old = out->size();
    out->resize(old + d);
    if (!in.read(reinterpret_cast<char*>(out->data() + old), d * sizeof(T)))
      return false;
  }
  return *dim > 0;
}

}  // namespace

std::optional<Dataset> LoadSharedDataset(const std::string& name,
                                         int64_t max_queries) {
  auto base = PlainFile(name + "_base.fvecs");
  auto query = PlainFile(name + "_query.fvecs");
  auto gt = PlainFile(name + "_groundtruth.ivecs");
  if (!base || !query || !gt) return std::nullopt;
  Dataset ds;
  ds.name = name;
  ds.metric = name.find("angular") != std::string::npos ? Metric::kInnerProduct
                                                        : Metric::kL2;
  int qd = 0;
  if (!ReadVecs(*base, -1, &ds.base, &ds.dim)) return std::nullopt;
  if (!ReadVecs(*query, max_queries, &ds.queries, &qd) || qd != ds.dim)
    return std::nullopt;
  if (!ReadVecs(*gt, max_queries, &ds.groundtruth, &ds.gt_k))
    return std::nullopt;
  return ds;
}

std::string Saved(const Index& index) {
  std::string bytes;
  StringWriter w(&bytes);
  EXPECT_TRUE(index.Save(w).ok());
  return bytes;
}

std::vector<SectionSpan> Sections(const std::string& bytes) {
  std::vector<SectionSpan> spans;
  size_t pos = io::kHeaderBytes;
  while (pos + io::kSectionHeaderBytes <= bytes.size()) {
    uint32_t tag;
    uint64_t length;
    std::memcpy(&tag, bytes.data() + pos, 4);
    std::memcpy(&length, bytes.data() + pos + 8, 8);
    if (length > bytes.size() - pos - io::kSectionHeaderBytes - 4) break;
    spans.push_back({tag, pos + io::kSectionHeaderBytes, length});
    pos += io::kSectionHeaderBytes + length + 4;
  }
  return spans;
}

std::string PatchSection(
    std::string bytes, uint32_t tag,
    const std::function<void(char* payload, uint64_t length)>& patch) {
  for (const SectionSpan& s : Sections(bytes)) {
    if (s.tag != tag) continue;
    char* payload = bytes.data() + s.offset;
    patch(payload, s.length);
    const uint32_t crc = io::Crc32c(0, payload, s.length);
    std::memcpy(payload + s.length, &crc, 4);
    return bytes;
  }
  ADD_FAILURE() << "no section " << io::TagName(tag);
  return bytes;
}

}  // namespace vindex::testing
