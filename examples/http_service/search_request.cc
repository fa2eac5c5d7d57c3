#include "search_request.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace vindex_http {
namespace {

// Upper bounds that keep one request cheap whatever a client sends.
constexpr int kMaxK = 1000;
constexpr int kMaxKnob = 1 << 20;
constexpr size_t kMaxDim = 1 << 16;

// A cursor over the body with the few JSON productions this shape needs.
class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
            text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == text_.size();
  }
  // Consumes `c` (after spaces) if it is next.
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  absl::Status Expect(char c) {
    if (Consume(c)) return absl::OkStatus();
    return Error(absl::StrCat("expected '", std::string(1, c), "'"));
  }
  // A key: a string without escapes (the keys we accept have none).
  absl::StatusOr<absl::string_view> Key() {
    if (!Consume('"')) return Error("expected a quoted key");
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\') return Error("escapes are not accepted in keys");
      ++pos_;
    }
    if (pos_ == text_.size()) return Error("unterminated key");
    return text_.substr(start, pos_++ - start);
  }
  // A JSON number (strict grammar: -?int frac? exp?), returned as a double.
  absl::StatusOr<double> Number() {
    SkipSpace();
    const size_t start = pos_;
    auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        ++pos_;
      }
      return pos_ > from;
    };
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (!digits()) return Error("expected a number");
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (!digits()) return Error("expected digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) {
        ++pos_;
      }
      if (!digits()) return Error("expected digits in the exponent");
    }
    // strtod needs a terminated string; numbers are short.
    const std::string token(text_.substr(start, pos_ - start));
    errno = 0;
    const double value = std::strtod(token.c_str(), nullptr);
    if (errno == ERANGE || !std::isfinite(value)) {
      return Error("number out of range");
    }
    return value;
  }
  // A non-negative integer no larger than `max`.
  absl::StatusOr<int> Integer(absl::string_view key, int max) {
    absl::StatusOr<double> value = Number();
    if (!value.ok()) return value.status();
    if (*value != std::floor(*value) || *value < 0 || *value > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", key, "\" must be an integer in [0, ", max, "]"));
    }
    return static_cast<int>(*value);
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("bad JSON at byte ", pos_, ": ", what));
  }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<SearchRequest> ParseSearchRequest(absl::string_view body) {
  Parser p(body);
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
        if (s = p.Expect('['); !s.ok()) return s;
        if (!p.Consume(']')) {
          do {
            absl::StatusOr<double> x = p.Number();
            if (!x.ok()) return x.status();
            if (request.vector.size() == kMaxDim) {
              return absl::InvalidArgumentError("\"vector\" is too long");
            }
            request.vector.push_back(static_cast<float>(*x));
          } while (p.Consume(','));
          if (s = p.Expect(']'); !s.ok()) return s;
        }
      } else if (*key == "k") {
        if (s = once(seen_k); !s.ok()) return s;
        absl::StatusOr<int> v = p.Integer("k", kMaxK);
        if (!v.ok()) return v.status();
        if (*v == 0) return absl::InvalidArgumentError("\"k\" must be >= 1");
        request.k = *v;
      } else if (*key == "nprobe" || *key == "ef" || *key == "rerank_factor") {
        bool& seen = *key == "nprobe" ? seen_nprobe
                     : *key == "ef"   ? seen_ef
                                      : seen_rerank;
        int& field = *key == "nprobe" ? request.nprobe
                     : *key == "ef"   ? request.ef
                                      : request.rerank_factor;
        if (s = once(seen); !s.ok()) return s;
        absl::StatusOr<int> v = p.Integer(*key, kMaxKnob);
        if (!v.ok()) return v.status();
        field = *v;
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

}  // namespace vindex_http
