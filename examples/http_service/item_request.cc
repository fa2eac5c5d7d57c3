#include "item_request.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "json_cursor.h"

namespace vindex_http {
namespace {

constexpr int64_t kMaxId = int64_t{1} << 53;
constexpr size_t kMaxDim = 1 << 16;

}  // namespace

absl::StatusOr<ItemRequest> ParseItemRequest(absl::string_view body) {
  JsonCursor p(body);
  ItemRequest request;
  bool seen_id = false, seen_vector = false;
  if (absl::Status s = p.Expect('{'); !s.ok()) return s;
  if (!p.Consume('}')) {
    do {
      absl::StatusOr<absl::string_view> key = p.Key();
      if (!key.ok()) return key.status();
      if (absl::Status s = p.Expect(':'); !s.ok()) return s;
      bool* seen = *key == "id"       ? &seen_id
                   : *key == "vector" ? &seen_vector
                                      : nullptr;
      if (seen == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown key \"", *key, "\" (expected id, vector)"));
      }
      if (*seen) {
        return absl::InvalidArgumentError(
            absl::StrCat("key \"", *key, "\" appears twice"));
      }
      *seen = true;
      if (*key == "id") {
        absl::StatusOr<int64_t> id = p.Integer("id", kMaxId);
        if (!id.ok()) return id.status();
        request.id = *id;
      } else if (absl::Status s =
                     p.FloatArray("vector", kMaxDim, &request.vector);
                 !s.ok()) {
        return s;
      }
    } while (p.Consume(','));
    if (absl::Status s = p.Expect('}'); !s.ok()) return s;
  }
  if (!p.AtEnd()) return p.Error("trailing bytes after the object");
  if (!seen_id) return absl::InvalidArgumentError("\"id\" is required");
  return request;
}

}  // namespace vindex_http
