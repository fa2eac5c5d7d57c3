// Chooses the kernel table once: the best ISA that both this build and this
// CPU support, capped by VINDEX_ISA.
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "kernels/kernels.h"
#include "vindex/index.h"

namespace vindex::kernels {

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "unknown";
}

const KernelTable* ForIsa(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return &scalar::Table();
    case Isa::kAvx2:
#if defined(VINDEX_HAVE_AVX2)
      if (CpuHasAvx2Fma()) return &avx2::Table();
#endif
      return nullptr;
    case Isa::kAvx512:
#if defined(VINDEX_HAVE_AVX512)
      if (CpuHasAvx512()) return &avx512::Table();
#endif
      return nullptr;
  }
  return nullptr;
}

namespace {

// The highest ISA allowed by VINDEX_ISA (unset or unknown: no cap).
int CapFromEnvironment() {
  const char* cap = std::getenv("VINDEX_ISA");
  if (cap == nullptr) return 99;
  std::string_view v(cap);
  if (v == "scalar") return 0;
  if (v == "avx2") return 1;
  if (v == "avx512") return 2;
  return 99;
}

const KernelTable& Choose() {
  const int cap = CapFromEnvironment();
  if (cap >= 2) {
    if (const KernelTable* t = ForIsa(Isa::kAvx512)) return *t;
  }
  if (cap >= 1) {
    if (const KernelTable* t = ForIsa(Isa::kAvx2)) return *t;
  }
  return scalar::Table();
}

}  // namespace

const KernelTable& Active() {
  static const KernelTable& table = Choose();  // Thread-safe static init.
  return table;
}

Isa ActiveIsa() { return Active().isa; }

}  // namespace vindex::kernels

namespace vindex {
std::string_view ActiveIsaName() { return kernels::Active().name; }
}  // namespace vindex
