// Status macros for code that runs on every rank: a call's Status is agreed
// across the communicator before anyone returns, so all ranks leave together.
#ifndef VINDEX_MPI_AGREE_MACROS_H_
#define VINDEX_MPI_AGREE_MACROS_H_

#include "core/status_macros.h"

// Returns from the enclosing function, on every rank, when `expr` failed on
// any rank (all return the same Status).
#define VINDEX_AGREE_OR_RETURN(comm, expr)                                  \
  do {                                                                      \
    if (absl::Status agreed_ = (comm).AgreeOnStatus(expr); !agreed_.ok()) { \
      return agreed_;                                                       \
    }                                                                       \
  } while (0)

#endif  // VINDEX_MPI_AGREE_MACROS_H_
