#include "args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace vindex::cli {

bool Args::Parse(const CommandSpec& spec, const std::vector<std::string>& args,
                 UsageError* error) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      help_ = true;
      continue;
    }
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2);
      std::optional<std::string> value;
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      const FlagSpec* flag = nullptr;
      for (const FlagSpec& f : spec.flags) {
        if (f.name == name) flag = &f;
      }
      if (flag == nullptr) {
        error->message = "unknown flag --" + name;
        return false;
      }
      if (flag->value_name.empty()) {
        if (value.has_value()) {
          error->message = "flag --" + name + " takes no value";
          return false;
        }
        value = "true";
      } else if (!value.has_value()) {
        if (i + 1 >= args.size()) {
          error->message =
              "flag --" + name + " needs a value (" + flag->value_name + ")";
          return false;
        }
        value = args[++i];
      }
      auto& slot = values_[name];
      if (!slot.empty() && !flag->repeated) {
        error->message = "flag --" + name + " given more than once";
        return false;
      }
      slot.push_back(*value);
      continue;
    }
    if (a.size() > 1 && a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) {
      error->message = "unknown flag " + a;
      return false;
    }
    positional_.push_back(a);
  }
  if (help_) return true;
  if (static_cast<int>(positional_.size()) > spec.max_positional) {
    error->message = spec.max_positional == 0
                         ? "unexpected argument '" + positional_[0] + "'"
                         : "too many arguments";
    return false;
  }
  if (static_cast<int>(positional_.size()) < spec.min_positional) {
    error->message = "missing argument (usage: " + spec.usage + ")";
    return false;
  }
  return true;
}

std::string Args::Get(const std::string& name,
                      const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

bool Args::GetInt(const std::string& name, long long fallback, long long min,
                  long long max, long long* out, UsageError* error) const {
  if (!Has(name)) {
    *out = fallback;
    return true;
  }
  std::string v = Get(name);
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < min || x > max) {
    error->message = "--" + name + " must be an integer in [" +
                     std::to_string(min) + ", " + std::to_string(max) +
                     "], got '" + v + "'";
    return false;
  }
  *out = x;
  return true;
}

bool Args::GetDouble(const std::string& name, double fallback, double min,
                     double max, double* out, UsageError* error) const {
  if (!Has(name)) {
    *out = fallback;
    return true;
  }
  std::string v = Get(name);
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(x) || x < min || x > max) {
    std::ostringstream s;
    s << "--" << name << " must be a number in [" << min << ", " << max
      << "], got '" << v << "'";
    error->message = s.str();
    return false;
  }
  *out = x;
  return true;
}

std::string HelpText(const CommandSpec& spec) {
  std::ostringstream s;
  s << spec.summary << "\n\nUsage: " << spec.usage << "\n";
  if (!spec.details.empty()) s << "\n" << spec.details << "\n";
  if (!spec.flags.empty()) {
    s << "\nFlags:\n";
    for (const FlagSpec& f : spec.flags) {
      std::string left = "  --" + f.name;
      if (!f.value_name.empty()) left += " " + f.value_name;
      if (left.size() < 26)
        left.resize(26, ' ');
      else
        left += "\n" + std::string(26, ' ');
      s << left << f.help << (f.repeated ? " (repeatable)" : "") << "\n";
    }
  }
  s << "  --help                  Show this help.\n";
  return s.str();
}

}  // namespace vindex::cli
