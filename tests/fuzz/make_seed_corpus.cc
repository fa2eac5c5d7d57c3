// Writes small valid index files of every family this build has into the
// folder given as argv[1]: the fuzzer's seed corpus.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "vindex/index.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seed_corpus DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int dim = 8;
  const int64_t n = 300;
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<float> v(n * dim);
  for (float& x : v) x = g(rng);
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i * 3 + 1;
  int written = 0;
  for (const char* spec :
       {"Flat", "IVF4,Flat", "IVF4,PQ4", "IVF4,PQ4x4fs,Rerank", "HNSW8",
        "HNSW8,SQ8", "HNSW8,FP16"}) {
    for (auto metric : {vindex::Metric::kL2, vindex::Metric::kCosine}) {
      auto index = vindex::MakeIndex(spec, dim, metric);
      if (!index.ok()) continue;  // Family not in this build.
      vindex::MatrixView<const float> data(v.data(), n, dim);
      if (!(*index)->Train(data).ok() || !(*index)->Add(data, ids).ok())
        continue;
      std::string name = std::string(spec) + "_" +
                         std::string(vindex::MetricName(metric)) + ".vindex";
      for (char& c : name) {
        if (c == ',') c = '_';
      }
      if (vindex::SaveIndexToFile(**index, dir + "/" + name).ok()) ++written;
    }
  }
  std::printf("wrote %d seed files to %s\n", written, dir.c_str());
  return written > 0 ? 0 : 1;
}
