// vindex: command-line front end of the vindex library.
//
//   vindex build | search | eval | bench | tune | info | generate (see --help)
//   vindex --version
// Under mpirun, build, search and eval run as vindex-mpi (mpi_forward.h).

#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "mpi_forward.h"
#include "vindex/index.h"
#include "vindex/version.h"

namespace {

void PrintTopHelp(std::FILE* out) {
  std::fprintf(out,
               "vindex: build, search, evaluate and tune vector indexes.\n\n"
               "Usage: vindex COMMAND [flags]   (vindex COMMAND --help for "
               "details)\n       vindex --version\n\nCommands:\n");
  for (const auto& c : vindex::cli::Commands()) {
    std::fprintf(out, "  %-8s %s\n", c.spec.name.c_str(),
                 c.spec.summary.c_str());
  }
  std::fprintf(out, "\nCPU kernels: %s\n",
               std::string(vindex::ActiveIsaName()).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  using vindex::cli::kExitUsage;
  if (argc < 2) {
    PrintTopHelp(stderr);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "--version" || name == "version") {
    std::printf("vindex %s\n", VINDEX_VERSION_STRING);
    return 0;
  }
  if (name == "--help" || name == "-h" || name == "help") {
    if (argc >= 3) {
      for (const auto& c : vindex::cli::Commands()) {
        if (c.spec.name == argv[2]) {
          std::printf("%s", vindex::cli::HelpText(c.spec).c_str());
          return 0;
        }
      }
    }
    PrintTopHelp(stdout);
    return 0;
  }
  if (vindex::cli::HasMpiForm(name) && vindex::cli::LaunchedByMpiRun()) {
    return vindex::cli::ForwardToMpiTool(argv);
  }
  for (const auto& c : vindex::cli::Commands()) {
    if (c.spec.name != name) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    vindex::cli::Args parsed;
    vindex::cli::UsageError error;
    if (!parsed.Parse(c.spec, args, &error)) {
      std::fprintf(stderr, "vindex %s: %s (see 'vindex %s --help')\n",
                   name.c_str(), error.message.c_str(), name.c_str());
      return kExitUsage;
    }
    if (parsed.help()) {
      std::printf("%s", vindex::cli::HelpText(c.spec).c_str());
      return 0;
    }
    const int code = c.run(parsed, &error);
    if (code == kExitUsage) {
      std::fprintf(stderr, "vindex %s: %s (see 'vindex %s --help')\n",
                   name.c_str(), error.message.c_str(), name.c_str());
    }
    return code;
  }
  std::fprintf(stderr,
               "vindex: unknown command '%s' (commands: build, search, eval, "
               "bench, tune, info, generate; see 'vindex --help')\n",
               name.c_str());
  return kExitUsage;
}
