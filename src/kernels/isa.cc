// The run-time CPU check, generated from isa_table.def: cpuid for each
// feature an ISA is compiled with, xgetbv for the register state the OS
// saves.
#include "kernels/isa.h"

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string_view>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace vindex::kernels {
namespace {

enum class CpuFeature : int {
#define VINDEX_CPU_FEATURE(enumerator, ...) enumerator,
#include "kernels/isa_table.def"
#undef VINDEX_CPU_FEATURE
};

using FeatureMask = uint64_t;

constexpr FeatureMask Features(std::initializer_list<CpuFeature> features) {
  FeatureMask mask = 0;
  for (CpuFeature f : features) mask |= FeatureMask{1} << static_cast<int>(f);
  return mask;
}

struct IsaRow {
  std::string_view name;
  uint64_t os_state;  // XCR0 bits that must be set.
  FeatureMask features;
};

using enum CpuFeature;
constexpr IsaRow kIsaRows[] = {
#define VINDEX_ISA(name, enumerator, os_state, ...) \
  {#name, os_state, Features({__VA_ARGS__})},
#include "kernels/isa_table.def"
#undef VINDEX_ISA
};

#if defined(__x86_64__) || defined(__i386__)

enum CpuidRegister { kEax, kEbx, kEcx, kEdx };

struct FeatureRow {
  unsigned leaf;
  unsigned subleaf;
  CpuidRegister reg;
  int bit;
};

constexpr FeatureRow kFeatureRows[] = {
#define VINDEX_CPU_FEATURE(enumerator, flag, leaf, subleaf, reg, bit) \
  {leaf, subleaf, reg, bit},
#include "kernels/isa_table.def"
#undef VINDEX_CPU_FEATURE
};

bool HasFeature(const FeatureRow& row) {
  unsigned r[4];
  // __get_cpuid_count checks that the leaf exists.
  if (!__get_cpuid_count(row.leaf, row.subleaf, &r[kEax], &r[kEbx], &r[kEcx],
                         &r[kEdx])) {
    return false;
  }
  return (r[row.reg] >> row.bit) & 1u;
}

// XCR0, the register state the OS saves; 0 when xgetbv is not enabled.
uint64_t OsSavedState() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  const bool osxsave = (ecx >> 27) & 1u;
  if (!osxsave) return 0;
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

IsaMask DetectCpuIsas() {
  FeatureMask present = 0;
  for (size_t f = 0; f < std::size(kFeatureRows); ++f) {
    if (HasFeature(kFeatureRows[f])) present |= FeatureMask{1} << f;
  }
  const uint64_t os_state = OsSavedState();
  IsaMask out = 0;
  for (size_t i = 0; i < kIsaCount; ++i) {
    const IsaRow& row = kIsaRows[i];
    if ((present & row.features) == row.features &&
        (os_state & row.os_state) == row.os_state) {
      out |= IsaBit(static_cast<Isa>(i));
    }
  }
  return out;
}

#else

IsaMask DetectCpuIsas() { return IsaBit(Isa::kScalar); }

#endif

}  // namespace

std::string_view IsaName(Isa isa) {
  const size_t i = static_cast<size_t>(isa);
  return i < kIsaCount ? kIsaRows[i].name : "unknown";
}

std::optional<Isa> IsaFromName(std::string_view name) {
  for (size_t i = 0; i < kIsaCount; ++i) {
    if (kIsaRows[i].name == name) return static_cast<Isa>(i);
  }
  return std::nullopt;
}

IsaMask CpuIsas() {
  static const IsaMask isas = DetectCpuIsas();  // Thread-safe static init.
  return isas;
}

IsaMask DefaultAllowedIsas() {
  static const IsaMask allowed = [] {
    const char* cap = std::getenv("VINDEX_ISA");
    const std::optional<Isa> isa =
        cap != nullptr ? IsaFromName(cap) : std::nullopt;
    return isa.has_value() ? (IsaBit(*isa) << 1) - 1 : kAllIsas;
  }();
  return allowed;
}

}  // namespace vindex::kernels
