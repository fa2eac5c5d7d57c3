#ifndef VINDEX_TOOLS_VINDEX_ARGS_H_
#define VINDEX_TOOLS_VINDEX_ARGS_H_

// Command-line parsing for the vindex tool: "--name value" or "--name=value"
// flags declared per subcommand, plus positional arguments.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vindex::cli {

struct FlagSpec {
  std::string name;        // Without the leading "--".
  std::string value_name;  // Shown in help, e.g. "FILE"; empty = boolean.
  std::string help;
  bool repeated = false;  // May be given several times.
};

struct CommandSpec {
  std::string name;
  std::string summary;  // One line.
  std::string usage;    // e.g. "vindex info INDEX".
  std::string details;  // Extra help text (may be empty).
  std::vector<FlagSpec> flags;
  int min_positional = 0;
  int max_positional = 0;
};

// A usage error: the message names the problem; exit code 2.
struct UsageError {
  std::string message;
};

class Args {
 public:
  // Parses args (after the subcommand name). On error returns false and sets
  // *error. `--help` / `-h` sets help().
  bool Parse(const CommandSpec& spec, const std::vector<std::string>& args,
             UsageError* error);

  bool help() const { return help_; }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name,
                  const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // Typed getters: false (with *error naming the flag) when the value is not
  // a number in [min, max].
  bool GetInt(const std::string& name, long long fallback, long long min,
              long long max, long long* out, UsageError* error) const;
  bool GetDouble(const std::string& name, double fallback, double min,
                 double max, double* out, UsageError* error) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

// The help text of a command.
std::string HelpText(const CommandSpec& spec);

}  // namespace vindex::cli

#endif  // VINDEX_TOOLS_VINDEX_ARGS_H_
