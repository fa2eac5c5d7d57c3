#include "io/npy_header.h"

#include <limits>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"

namespace vindex::io {
namespace {

using internal::Sv;

// Literals nest no deeper than Python's parser allows (200 parentheses);
// deeper input is rejected rather than risking the stack.
constexpr int kMaxDepth = 200;

// A Python literal of the kinds a header may hold.
struct Value {
  enum class Kind { kString, kInt, kBool, kNone, kTuple, kList, kDict };
  Kind kind = Kind::kNone;
  std::string text;          // kString
  int64_t number = 0;        // kInt
  bool truth = false;        // kBool
  std::vector<Value> items;  // kTuple, kList; kDict as key, value, ...
};

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad .npy header: ", Sv(what)));
}

class LiteralParser {
 public:
  explicit LiteralParser(std::string_view text) : s_(text) {}

  absl::StatusOr<Value> ParseAll() {
    Value v;
    if (auto st = ParseValue(0, &v); !st.ok()) return st;
    SkipSpace();
    if (p_ != s_.size()) {
      return Bad(absl::StrCat("unexpected text after the dict at byte ", p_));
    }
    return v;
  }

 private:
  void SkipSpace() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' ||
                              s_[p_] == '\n' || s_[p_] == '\r')) {
      ++p_;
    }
  }
  bool Eat(char c) {
    SkipSpace();
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  absl::Status Expected(std::string_view what) {
    return Bad(absl::StrCat("expected ", Sv(what), " at byte ", p_));
  }

  absl::Status ParseValue(int depth, Value* v) {
    if (depth > kMaxDepth) return Bad("literal nested too deeply");
    SkipSpace();
    if (p_ >= s_.size()) return Expected("a value");
    const char c = s_[p_];
    if (c == '\'' || c == '"') return ParseString(v);
    if (c == '-' || (c >= '0' && c <= '9')) return ParseInt(v);
    if (c == '{') return ParseDict(depth, v);
    if (c == '[') return ParseSequence(depth, ']', Value::Kind::kList, v);
    if (c == '(') return ParseSequence(depth, ')', Value::Kind::kTuple, v);
    for (auto [word, kind, truth] :
         {std::tuple{"True", Value::Kind::kBool, true},
          std::tuple{"False", Value::Kind::kBool, false},
          std::tuple{"None", Value::Kind::kNone, false}}) {
      const std::string_view w(word);
      if (s_.substr(p_, w.size()) == w &&
          (p_ + w.size() == s_.size() || !IsNameChar(s_[p_ + w.size()]))) {
        p_ += w.size();
        v->kind = kind;
        v->truth = truth;
        return absl::OkStatus();
      }
    }
    return Expected("a literal");
  }

  static bool IsNameChar(char c) {
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
  }

  absl::Status ParseString(Value* v) {
    const char quote = s_[p_++];
    const size_t begin = p_;
    while (p_ < s_.size() && s_[p_] != quote) {
      if (s_[p_] == '\\' || s_[p_] == '\n') {
        return Bad(
            absl::StrCat("unsupported character in a string at byte ", p_));
      }
      ++p_;
    }
    if (p_ >= s_.size()) return Bad("unterminated string");
    v->kind = Value::Kind::kString;
    v->text = std::string(s_.substr(begin, p_ - begin));
    ++p_;
    return absl::OkStatus();
  }

  absl::Status ParseInt(Value* v) {
    const bool negative = s_[p_] == '-';
    if (negative) {
      ++p_;
      SkipSpace();
    }
    const size_t begin = p_;
    uint64_t n = 0;
    while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
      const uint64_t digit = s_[p_] - '0';
      if (n > (uint64_t{std::numeric_limits<int64_t>::max()} - digit) / 10) {
        return Bad(absl::StrCat("integer too large at byte ", begin));
      }
      n = n * 10 + digit;
      ++p_;
    }
    if (p_ == begin) return Expected("digits");
    // Python 3 rejects leading zeros ("07"); numpy has no other notation here.
    if (s_[begin] == '0' && n != 0) {
      return Bad(absl::StrCat("integer with a leading zero at byte ", begin));
    }
    if (p_ < s_.size() && (s_[p_] == 'L' || s_[p_] == 'l')) ++p_;  // Python 2.
    if (p_ < s_.size() && (IsNameChar(s_[p_]) || s_[p_] == '.')) {
      return Bad(absl::StrCat("not an integer at byte ", begin));
    }
    v->kind = Value::Kind::kInt;
    v->number = negative ? -static_cast<int64_t>(n) : static_cast<int64_t>(n);
    return absl::OkStatus();
  }

  // '(' and '[': items separated by commas, an optional trailing comma.
  // "(x)" without a comma is x itself, as in Python.
  absl::Status ParseSequence(int depth, char close, Value::Kind kind,
                             Value* v) {
    ++p_;
    v->kind = kind;
    bool comma = false;
    while (!Eat(close)) {
      if (!v->items.empty() && !comma) return Expected("',' or the closing");
      Value item;
      if (auto st = ParseValue(depth + 1, &item); !st.ok()) return st;
      v->items.push_back(std::move(item));
      comma = Eat(',');
    }
    if (kind == Value::Kind::kTuple && v->items.size() == 1 && !comma) {
      Value inner = std::move(v->items[0]);
      *v = std::move(inner);
    }
    return absl::OkStatus();
  }

  absl::Status ParseDict(int depth, Value* v) {
    ++p_;
    v->kind = Value::Kind::kDict;
    bool comma = false;
    while (!Eat('}')) {
      if (!v->items.empty() && !comma) return Expected("',' or '}'");
      Value key, value;
      if (auto st = ParseValue(depth + 1, &key); !st.ok()) return st;
      if (!Eat(':')) return Expected("':'");
      if (auto st = ParseValue(depth + 1, &value); !st.ok()) return st;
      v->items.push_back(std::move(key));
      v->items.push_back(std::move(value));
      comma = Eat(',');
    }
    return absl::OkStatus();
  }

  std::string_view s_;
  size_t p_ = 0;
};

}  // namespace

absl::StatusOr<NpyHeaderDict> ParseNpyHeaderDict(std::string_view text) {
  LiteralParser parser(text);
  absl::StatusOr<Value> root = parser.ParseAll();
  if (!root.ok()) return root.status();
  if (root->kind != Value::Kind::kDict) return Bad("the header is not a dict");
  // A repeated key keeps its last value, as in a Python dict literal.
  const Value* descr = nullptr;
  const Value* fortran = nullptr;
  const Value* shape = nullptr;
  for (size_t i = 0; i < root->items.size(); i += 2) {
    const Value& key = root->items[i];
    const Value* value = &root->items[i + 1];
    if (key.kind == Value::Kind::kString && key.text == "descr") {
      descr = value;
    } else if (key.kind == Value::Kind::kString &&
               key.text == "fortran_order") {
      fortran = value;
    } else if (key.kind == Value::Kind::kString && key.text == "shape") {
      shape = value;
    } else {
      return Bad(absl::StrCat(
          "unexpected key ",
          key.kind == Value::Kind::kString ? absl::StrCat("'", key.text, "'")
                                           : std::string("(not a string)"),
          "; the keys must be descr, fortran_order and shape"));
    }
  }
  if (descr == nullptr || fortran == nullptr || shape == nullptr) {
    return Bad("the header lacks descr, fortran_order or shape");
  }
  NpyHeaderDict out;
  if (descr->kind != Value::Kind::kString) {
    return Bad("descr is not a string (structured dtypes are not supported)");
  }
  out.descr = descr->text;
  if (fortran->kind != Value::Kind::kBool) {
    return Bad("fortran_order is not True or False");
  }
  out.fortran_order = fortran->truth;
  if (shape->kind != Value::Kind::kTuple) return Bad("shape is not a tuple");
  for (const Value& d : shape->items) {
    if (d.kind != Value::Kind::kInt || d.number < 0) {
      return Bad("shape holds something other than a non-negative integer");
    }
    out.shape.push_back(d.number);
  }
  return out;
}

}  // namespace vindex::io
