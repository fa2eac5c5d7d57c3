// The JSON request of POST /add and POST /remove (one stored vector each)
// and its parser, kept apart from the server so it can be read (and tested)
// on its own.
#ifndef VINDEX_EXAMPLES_HTTP_SERVICE_ITEM_REQUEST_H_
#define VINDEX_EXAMPLES_HTTP_SERVICE_ITEM_REQUEST_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vindex_http {

// {"id": 42, "vector": [0.1, ...]}   (POST /add)
// {"id": 42}                         (POST /remove)
// "id" is required: an integer in [0, 2^53] (exact in JSON's doubles);
// "vector" is optional here, and the route decides whether it must be there.
struct ItemRequest {
  int64_t id = -1;
  std::vector<float> vector;
};

// Strict like ParseSearchRequest: those keys only, each at most once,
// numbers only. Anything else is InvalidArgument fit for an HTTP 400 body.
absl::StatusOr<ItemRequest> ParseItemRequest(absl::string_view body);

}  // namespace vindex_http

#endif  // VINDEX_EXAMPLES_HTTP_SERVICE_ITEM_REQUEST_H_
