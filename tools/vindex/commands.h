#ifndef VINDEX_TOOLS_VINDEX_COMMANDS_H_
#define VINDEX_TOOLS_VINDEX_COMMANDS_H_

#include <vector>

#include "args.h"

namespace vindex::cli {

// Exit codes of the tool.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // A file, index or search failed.
inline constexpr int kExitUsage = 2;    // Bad arguments.

struct Command {
  CommandSpec spec;
  // Runs the command with parsed arguments; returns the exit code. Usage
  // errors found while running (e.g. a bad --spec) are reported through
  // *usage with kExitUsage returned.
  int (*run)(const Args& args, UsageError* usage);
};

const std::vector<Command>& Commands();

}  // namespace vindex::cli

#endif  // VINDEX_TOOLS_VINDEX_COMMANDS_H_
