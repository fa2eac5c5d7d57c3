// The JSON request of POST /search and its parser, kept apart from the
// server so it can be read (and tested) on its own.
#ifndef VINDEX_EXAMPLES_HTTP_SERVICE_SEARCH_REQUEST_H_
#define VINDEX_EXAMPLES_HTTP_SERVICE_SEARCH_REQUEST_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vindex_http {

// {"vector": [0.1, ...], "k": 10, "nprobe": 32, "ef": 64, "rerank_factor": 4}
// Only "vector" is required; the knobs default to 0 ("the index's
// default"), k to 10.
struct SearchRequest {
  std::vector<float> vector;
  int k = 10;
  int nprobe = 0;
  int ef = 0;
  int rerank_factor = 0;
};

// A small, strict parser for exactly that shape: one JSON object whose keys
// are the ones above, each at most once; numbers only (no strings, nulls or
// nesting beyond the vector). Anything else is InvalidArgument with a message
// fit for an HTTP 400 body. It is not a general JSON parser.
absl::StatusOr<SearchRequest> ParseSearchRequest(absl::string_view body);

// What one request may ask for. Each knob makes a search's work and scratch
// memory grow with it (ef: the HNSW candidate list; nprobe: IVF lists scanned;
// rerank_factor: candidates re-ranked), so a service caps them. The defaults
// are several times the values that reach high recall on common datasets.
struct SearchLimits {
  int max_k = 1000;
  int max_ef = 1024;
  int max_nprobe = 1024;
  int max_rerank_factor = 64;
};

// InvalidArgument naming the knob and its cap if `request` asks for more
// than `limits` allow (requests are refused, not clamped, so a client never
// gets silently different results than it asked for).
absl::Status CheckSearchLimits(const SearchRequest& request,
                               const SearchLimits& limits);

}  // namespace vindex_http

#endif  // VINDEX_EXAMPLES_HTTP_SERVICE_SEARCH_REQUEST_H_
