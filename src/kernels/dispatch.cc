// The dispatcher: Select<Table> for every kernel family, and each family's
// Active() table, resolved once.
#include "kernels/dispatch.h"

#include <cstddef>
#include <utility>

#include "kernels/isa.h"
#include "kernels/kernels.h"
#include "kernels/pq_kernels.h"
#include "kernels/sq_kernels.h"

#ifndef VINDEX_BUILT_ISAS
#error \
    "VINDEX_BUILT_ISAS (the ISAs with kernel files in this build) is set by src/CMakeLists.txt"
#endif

namespace vindex::kernels {
namespace {

constexpr IsaMask kBuiltIsas = (VINDEX_BUILT_ISAS) | IsaBit(Isa::kScalar);

// The family's table for kIsa, or nullptr when this build has no files for
// it (then the table is never referenced, so never needed at link time).
template <class Table, Isa kIsa>
const Table* BuiltTable() {
  if constexpr ((kBuiltIsas & IsaBit(kIsa)) != 0) {
    return &IsaTable<Table, kIsa>::kTable;
  } else {
    return nullptr;
  }
}

template <class Table, size_t... kIsa>
const Table* BestOf(IsaMask usable, std::index_sequence<kIsa...>) {
  const Table* const tables[] = {
      BuiltTable<Table, static_cast<Isa>(kIsa)>()...};
  for (size_t i = kIsaCount; i-- > 0;) {
    if ((usable & IsaBit(static_cast<Isa>(i))) != 0 && tables[i] != nullptr) {
      return tables[i];
    }
  }
  return nullptr;
}

// The table every caller of the family's Active() shares.
template <class Table>
const Table& Resolve() {
  // DefaultAllowedIsas() always holds scalar, so Select finds a table.
  static const Table* const table = Select<Table>(DefaultAllowedIsas());
  return *table;
}

// Whether the scalar 8-bit PQ scan beats the gathers (see pq::Active()).
bool PreferScalarScan8() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_is("amd");
#else
  return false;
#endif
}

}  // namespace

IsaMask RunnableIsas() { return kBuiltIsas & CpuIsas(); }

template <class Table>
const Table* Select(IsaMask allowed) {
  return BestOf<Table>(allowed & RunnableIsas(),
                       std::make_index_sequence<kIsaCount>());
}

// The kernel families.
template const KernelTable* Select<KernelTable>(IsaMask);
template const pq::Table* Select<pq::Table>(IsaMask);
template const SqKernelTable* Select<SqKernelTable>(IsaMask);

const KernelTable& Active() { return Resolve<KernelTable>(); }

Isa ActiveIsa() { return Active().isa; }

const SqKernelTable& sq::Active() { return Resolve<SqKernelTable>(); }

const pq::Table& pq::Active() {
  static const Table table = [] {
    Table chosen = Resolve<Table>();
    if (chosen.isa != Isa::kScalar && PreferScalarScan8()) {
      chosen.scan8 = IsaTable<Table, Isa::kScalar>::kTable.scan8;
    }
    return chosen;
  }();
  return table;
}

}  // namespace vindex::kernels
