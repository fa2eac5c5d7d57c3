// Under mpirun, `vindex build | search | eval` are the MPI tool's commands:
// the process replaces itself with vindex-mpi from the same folder.
#ifndef VINDEX_TOOLS_VINDEX_MPI_FORWARD_H_
#define VINDEX_TOOLS_VINDEX_MPI_FORWARD_H_

#include <string>

namespace vindex::cli {

// Whether an MPI launcher (Open MPI, or any PMI/PMIx one) started this
// process, read from the environment it sets for every rank.
bool LaunchedByMpiRun();

// Whether `command` has an MPI form (build, search, eval).
bool HasMpiForm(const std::string& command);

// Executes vindex-mpi beside this binary with the same arguments; returns
// only when that fails, with the exit code to use after printing why.
int ForwardToMpiTool(char** argv);

}  // namespace vindex::cli

#endif  // VINDEX_TOOLS_VINDEX_MPI_FORWARD_H_
