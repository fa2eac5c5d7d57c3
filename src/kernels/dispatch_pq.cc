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
    case Isa::kNeon:
      return nullptr;
  }
  return nullptr;
}

const Table& Active() {
  static const Table& table = []() -> const Table& {
    const Table* t = pq::ForIsa(ActiveIsa());
    return t != nullptr ? *t : scalar::PqTable();
  }();
  return table;
}

}  // namespace vindex::kernels::pq
