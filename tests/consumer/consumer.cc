// Builds a Flat index through the installed package and checks one search.
#include <cstdio>
#include <vector>

#include "vindex/vindex.h"

int main() {
  auto index = vindex::MakeIndex("Flat", 4);
  if (!index.ok()) return 1;
  std::vector<float> v = {0, 0, 0, 0, 1, 1, 1, 1};
  std::vector<int64_t> ids = {10, 20};
  if (!(*index)->Add(vindex::MatrixView<const float>(v.data(), 2, 4), ids).ok()) return 2;
  std::vector<float> q = {0.9f, 1, 1, 1};
  int64_t id = 0;
  float dist = 0;
  vindex::SearchParams params{.k = 1};
  auto s = (*index)->Search(vindex::MatrixView<const float>(q.data(), 1, 4), params,
                            {vindex::MatrixView<int64_t>(&id, 1, 1),
                             vindex::MatrixView<float>(&dist, 1, 1)});
  if (!s.ok() || id != 20) return 3;
  std::printf("consumer ok: id %lld isa %s\n", static_cast<long long>(id),
              std::string(vindex::ActiveIsaName()).c_str());
  return 0;
}
