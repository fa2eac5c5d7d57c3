#ifndef VINDEX_SRC_KERNELS_DISPATCH_H_
#define VINDEX_SRC_KERNELS_DISPATCH_H_

// The one dispatcher of every kernel family (kernels.h, pq_kernels.h,
// sq_kernels.h): Select<Table>(allowed) picks the family's table for the best
// ISA that this build, this CPU and the caller's mask allow.

#include "kernels/isa.h"

namespace vindex::kernels {

// The table of kernel family `Table` compiled for kIsa. Each family header
// declares the specialization for every row of isa_table.def; the family's
// file for that ISA (scalar_pq.cc, avx2_pq.cc, ...) defines it with
// designated initializers, so a new kernel is one body per ISA plus one
// field in each table.
template <class Table, Isa kIsa>
struct IsaTable {
  static const Table kTable;
};

// The ISAs this build has kernels for and this CPU can run (scalar always).
IsaMask RunnableIsas();

// The table of the last (best) ISA in `allowed` & RunnableIsas(), or nullptr
// when there is none. Tests pin one ISA with Select<Table>(IsaBit(isa));
// the library runs Select<Table>(DefaultAllowedIsas()), resolved once per
// family by its Active(). Defined for the kernel families only.
template <class Table>
const Table* Select(IsaMask allowed);

}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_DISPATCH_H_
