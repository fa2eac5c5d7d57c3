// A cursor over a JSON request body with the few productions the HTTP
// example's request shapes need (objects of numbers and number arrays). It is
// not a general JSON parser: strings only as keys, without escapes.
#ifndef VINDEX_EXAMPLES_HTTP_SERVICE_JSON_CURSOR_H_
#define VINDEX_EXAMPLES_HTTP_SERVICE_JSON_CURSOR_H_

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace vindex_http {

// Errors are InvalidArgument with a message fit for an HTTP 400 body.
class JsonCursor {
 public:
  explicit JsonCursor(absl::string_view text) : text_(text) {}

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
  // A non-negative integer no larger than `max` (at most 2^53, where
  // doubles stop being exact).
  absl::StatusOr<int64_t> Integer(absl::string_view key, int64_t max) {
    absl::StatusOr<double> value = Number();
    if (!value.ok()) return value.status();
    if (*value != std::floor(*value) || *value < 0 ||
        *value > static_cast<double>(max)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", key, "\" must be an integer in [0, ", max, "]"));
    }
    return static_cast<int64_t>(*value);
  }
  // A JSON array of numbers, at most `max_size` of them, as floats.
  absl::Status FloatArray(absl::string_view key, size_t max_size,
                          std::vector<float>* out) {
    if (absl::Status s = Expect('['); !s.ok()) return s;
    if (Consume(']')) return absl::OkStatus();
    do {
      absl::StatusOr<double> x = Number();
      if (!x.ok()) return x.status();
      if (out->size() == max_size) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", key, "\" is too long"));
      }
      // Finite doubles beyond the float range would become infinities.
      if (std::fabs(*x) > std::numeric_limits<float>::max()) {
        return Error("number out of the float range");
      }
      out->push_back(static_cast<float>(*x));
    } while (Consume(','));
    return Expect(']');
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("bad JSON at byte ", pos_, ": ", what));
  }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace vindex_http

#endif  // VINDEX_EXAMPLES_HTTP_SERVICE_JSON_CURSOR_H_
