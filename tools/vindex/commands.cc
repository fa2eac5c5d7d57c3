// The table of the vindex tool's subcommands.

#include "commands.h"

#include <vector>

namespace vindex::cli {

const std::vector<Command>& Commands() {
  static const std::vector<Command>* commands = new std::vector<Command>{
      {BuildSpec(), RunBuild},       {SearchSpec(), RunSearch},
      {EvalSpec(), RunEval},         {BenchSpec(), RunBench},
      {TuneSpec(), RunTune},         {InfoSpec(), RunInfo},
      {GenerateSpec(), RunGenerate},
  };
  return *commands;
}

}  // namespace vindex::cli
