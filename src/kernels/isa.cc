// CPU feature detection: cpuid for the instruction sets, xgetbv for whether
// the OS saves the wide registers.
#include <cstdint>

#include "kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace vindex::kernels {

#if defined(__x86_64__) || defined(__i386__)
namespace {

uint64_t Xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512 = false;
};

CpuFeatures Detect() {
  CpuFeatures f;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool fma = ecx & (1u << 12);
  const bool osxsave = ecx & (1u << 27);
  const bool avx = ecx & (1u << 28);
  const bool f16c = ecx & (1u << 29);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = Xgetbv0();
  const bool ymm_saved = (xcr0 & 0x6) == 0x6;
  const bool zmm_saved = (xcr0 & 0xE6) == 0xE6;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  const bool avx2 = ebx & (1u << 5);
  const bool bmi2 = ebx & (1u << 8);
  f.avx2_fma = ymm_saved && avx2 && fma && f16c && bmi2;
  const bool avx512f = ebx & (1u << 16);
  const bool avx512dq = ebx & (1u << 17);
  const bool avx512bw = ebx & (1u << 30);
  const bool avx512vl = ebx & (1u << 31);
  f.avx512 =
      f.avx2_fma && zmm_saved && avx512f && avx512dq && avx512bw && avx512vl;
  return f;
}

const CpuFeatures& Features() {
  static const CpuFeatures features = Detect();
  return features;
}

}  // namespace

bool CpuHasAvx2Fma() { return Features().avx2_fma; }
bool CpuHasAvx512() { return Features().avx512; }

#else

bool CpuHasAvx2Fma() { return false; }
bool CpuHasAvx512() { return false; }

#endif

}  // namespace vindex::kernels
