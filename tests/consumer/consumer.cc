// Builds a Flat index through the installed package and checks one search
// (and, when VINDEX_EXPECTED_VERSION is defined, the headers' version).
#include <cstdio>
#include <cstring>
#include <vector>

#include "vindex/vindex.h"

int main() {
#if defined(VINDEX_EXPECTED_VERSION)
  if (std::strcmp(VINDEX_VERSION_STRING, VINDEX_EXPECTED_VERSION) != 0) {
    std::printf("consumer: headers say %s, expected %s\n",
                VINDEX_VERSION_STRING, VINDEX_EXPECTED_VERSION);
    return 4;
  }
#endif
  auto index = vindex::MakeIndex("Flat", 4);
  if (!index.ok()) return 1;
  std::vector<float> v = {0, 0, 0, 0, 1, 1, 1, 1};
  std::vector<int64_t> ids = {10, 20};
  if (!(*index)->Add(vindex::MatrixView<const float>(v.data(), 2, 4), ids).ok())
    return 2;
  std::vector<float> q = {0.9f, 1, 1, 1};
  int64_t id = 0;
  float dist = 0;
  vindex::SearchParams params{.k = 1};
  auto s =
      (*index)->Search(vindex::MatrixView<const float>(q.data(), 1, 4), params,
                       {vindex::MatrixView<int64_t>(&id, 1, 1),
                        vindex::MatrixView<float>(&dist, 1, 1)});
  if (!s.ok() || id != 20) return 3;
  std::printf("consumer ok: vindex %s, id %lld, isa %s\n",
              VINDEX_VERSION_STRING, static_cast<long long>(id),
              std::string(vindex::ActiveIsaName()).c_str());
  return 0;
}
