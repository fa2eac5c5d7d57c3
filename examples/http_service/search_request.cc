#include "search_request.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "json_cursor.h"

namespace vindex_http {
namespace {

// Upper bounds that keep parsing cheap whatever a client sends; the service
// applies its own, usually lower, SearchLimits afterwards.
constexpr int kMaxK = 1000;
constexpr int kMaxKnob = 1 << 20;
constexpr size_t kMaxDim = 1 << 16;

}  // namespace

absl::StatusOr<SearchRequest> ParseSearchRequest(absl::string_view body) {
  JsonCursor p(body);
  SearchRequest request;
  bool seen_vector = false, seen_k = false, seen_nprobe = false,
       seen_ef = false, seen_rerank = false;
  if (absl::Status s = p.Expect('{'); !s.ok()) return s;
  if (!p.Consume('}')) {
    do {
      absl::StatusOr<absl::string_view> key = p.Key();
      if (!key.ok()) return key.status();
      if (absl::Status s = p.Expect(':'); !s.ok()) return s;
      // Each key at most once: a repeated key is ambiguous, so it is refused.
      auto once = [&](bool& seen) -> absl::Status {
        if (seen) {
          return absl::InvalidArgumentError(
              absl::StrCat("key \"", *key, "\" appears twice"));
        }
        seen = true;
        return absl::OkStatus();
      };
      absl::Status s;
      if (*key == "vector") {
        if (s = once(seen_vector); !s.ok()) return s;
        if (s = p.FloatArray("vector", kMaxDim, &request.vector); !s.ok()) {
          return s;
        }
      } else if (*key == "k") {
        if (s = once(seen_k); !s.ok()) return s;
        absl::StatusOr<int64_t> v = p.Integer("k", kMaxK);
        if (!v.ok()) return v.status();
        if (*v == 0) return absl::InvalidArgumentError("\"k\" must be >= 1");
        request.k = static_cast<int>(*v);
      } else if (*key == "nprobe" || *key == "ef" || *key == "rerank_factor") {
        bool& seen = *key == "nprobe" ? seen_nprobe
                     : *key == "ef"   ? seen_ef
                                      : seen_rerank;
        int& field = *key == "nprobe" ? request.nprobe
                     : *key == "ef"   ? request.ef
                                      : request.rerank_factor;
        if (s = once(seen); !s.ok()) return s;
        absl::StatusOr<int64_t> v = p.Integer(*key, kMaxKnob);
        if (!v.ok()) return v.status();
        field = static_cast<int>(*v);
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown key \"", *key,
                         "\" (expected vector, k, nprobe, ef, rerank_factor)"));
      }
    } while (p.Consume(','));
    if (absl::Status s = p.Expect('}'); !s.ok()) return s;
  }
  if (!p.AtEnd()) return p.Error("trailing bytes after the object");
  if (!seen_vector || request.vector.empty()) {
    return absl::InvalidArgumentError("\"vector\" is required and non-empty");
  }
  return request;
}

absl::Status CheckSearchLimits(const SearchRequest& request,
                               const SearchLimits& limits) {
  auto over = [](absl::string_view key, int value, int cap) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", key, "\" is ", value, "; this service allows at most ", cap));
  };
  if (request.k > limits.max_k) return over("k", request.k, limits.max_k);
  if (request.ef > limits.max_ef) return over("ef", request.ef, limits.max_ef);
  if (request.nprobe > limits.max_nprobe) {
    return over("nprobe", request.nprobe, limits.max_nprobe);
  }
  if (request.rerank_factor > limits.max_rerank_factor) {
    return over("rerank_factor", request.rerank_factor,
                limits.max_rerank_factor);
  }
  return absl::OkStatus();
}

}  // namespace vindex_http
