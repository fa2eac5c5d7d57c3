// libFuzzer target: LoadIndex over arbitrary bytes must never crash, hang or
// leak; when it succeeds the index must answer a search.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "vindex/index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vindex::MemoryReader reader(
      std::string_view(reinterpret_cast<const char*>(data), size));
  auto index = vindex::LoadIndex(reader);
  if (!index.ok()) return 0;
  const int dim = (*index)->info().dim;
  if (dim > 4096) return 0;  // Keep each input cheap.
  std::vector<float> query(dim, 0.5f);
  int64_t ids[3];
  float dist[3];
  (void)(*index)->Search(vindex::MatrixView<const float>(query.data(), 1, dim),
                         vindex::SearchParams{.k = 3},
                         {vindex::MatrixView<int64_t>(ids, 1, 3),
                          vindex::MatrixView<float>(dist, 1, 3)});
  return 0;
}
