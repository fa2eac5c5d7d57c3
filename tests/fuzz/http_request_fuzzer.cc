// libFuzzer target: the HTTP example's request parsers (POST /search and
// POST /add, /remove bodies) over arbitrary bytes must never crash, hang or
// leak, and what they accept must be within their documented bounds.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "item_request.h"
#include "search_request.h"

namespace {

void CheckFinite(const std::vector<float>& v) {
  for (float x : v) {
    if (!std::isfinite(x)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  if (auto search = vindex_http::ParseSearchRequest(body); search.ok()) {
    if (search->vector.empty() || search->k < 1 || search->k > 1000 ||
        search->nprobe < 0 || search->ef < 0 || search->rerank_factor < 0) {
      std::abort();
    }
    CheckFinite(search->vector);
    (void)vindex_http::CheckSearchLimits(*search, vindex_http::SearchLimits{});
  }
  if (auto item = vindex_http::ParseItemRequest(body); item.ok()) {
    if (item->id < 0 || item->id > (int64_t{1} << 53)) std::abort();
    CheckFinite(item->vector);
  }
  return 0;
}
