// Chooses the PQ kernel table for the active ISA.
#include "kernels/pq_kernels.h"

namespace vindex::kernels::pq {

const Table* ForIsa(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return &scalar::PqTable();
    case Isa::kAvx2:
#if defined(VINDEX_HAVE_AVX2)
      if (CpuHasAvx2Fma()) return &avx2::PqTable();
#endif
      return nullptr;
    case Isa::kAvx512:
#if defined(VINDEX_HAVE_AVX512)
      if (CpuHasAvx512()) return &avx512::PqTable();
#endif
      return nullptr;
  }
  return nullptr;
}

namespace {

// Whether the scalar 8-bit scan beats the gathers (see Active()).
bool PreferScalarScan8() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_is("amd");
#else
  return false;
#endif
}

}  // namespace

const Table& Active() {
  static const Table table = [] {
    const Table* t = pq::ForIsa(ActiveIsa());
    Table chosen = t != nullptr ? *t : scalar::PqTable();
    if (chosen.isa != Isa::kScalar && PreferScalarScan8())
      chosen.scan8 = scalar::PqTable().scan8;
    return chosen;
  }();
  return table;
}

}  // namespace vindex::kernels::pq
