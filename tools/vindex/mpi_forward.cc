#include "mpi_forward.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace vindex::cli {

bool LaunchedByMpiRun() {
  for (const char* name :
       {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return true;
  }
  return false;
}

bool HasMpiForm(const std::string& command) {
  return command == "build" || command == "search" || command == "eval";
}

int ForwardToMpiTool(char** argv) {
  std::string self(4096, '\0');
  const ssize_t n = readlink("/proc/self/exe", self.data(), self.size() - 1);
  std::string tool = "vindex-mpi";
  if (n > 0) {
    self.resize(static_cast<size_t>(n));
    const size_t slash = self.rfind('/');
    if (slash != std::string::npos) tool = self.substr(0, slash + 1) + tool;
  }
  argv[0] = tool.data();
  execv(tool.c_str(), argv);
  std::fprintf(stderr,
               "vindex %s: started by mpirun, but %s cannot run (%s); the MPI "
               "commands come with a build that found Open MPI "
               "(-DVINDEX_MPI=ON)\n",
               argv[1], tool.c_str(), std::strerror(errno));
  return 2;
}

}  // namespace vindex::cli
