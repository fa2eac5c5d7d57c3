#ifndef VINDEX_TOOLS_VINDEX_COMMANDS_H_
#define VINDEX_TOOLS_VINDEX_COMMANDS_H_

// The subcommands of the vindex tool: each one's flags and help (its Spec)
// and what it does (its Run), one file per command (NAME_command.cc).

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

// Every command, in the order `vindex --help` lists them.
const std::vector<Command>& Commands();

CommandSpec BuildSpec();
int RunBuild(const Args& args, UsageError* usage);
CommandSpec SearchSpec();
int RunSearch(const Args& args, UsageError* usage);
CommandSpec EvalSpec();
int RunEval(const Args& args, UsageError* usage);
CommandSpec BenchSpec();
int RunBench(const Args& args, UsageError* usage);
CommandSpec TuneSpec();
int RunTune(const Args& args, UsageError* usage);
CommandSpec InfoSpec();
int RunInfo(const Args& args, UsageError* usage);
CommandSpec GenerateSpec();
int RunGenerate(const Args& args, UsageError* usage);

}  // namespace vindex::cli

#endif  // VINDEX_TOOLS_VINDEX_COMMANDS_H_
