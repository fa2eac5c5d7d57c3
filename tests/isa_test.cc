// The ISA table: names, the VINDEX_ISA cap, and the run-time CPU check
// against the compiler's own view of this CPU.
#include "kernels/isa.h"

#include <cstdlib>
#include <optional>

#include "gtest/gtest.h"

namespace vindex::kernels {
namespace {

TEST(IsaTest, NamesRoundTripInTableOrder) {
  ASSERT_EQ(kIsaCount, 3u);
  EXPECT_EQ(IsaName(Isa::kScalar), "scalar");
  EXPECT_EQ(IsaName(Isa::kAvx2), "avx2");
  EXPECT_EQ(IsaName(Isa::kAvx512), "avx512");
  for (Isa isa : kIsas) EXPECT_EQ(IsaFromName(IsaName(isa)), isa);
  EXPECT_EQ(IsaFromName("neon"), std::nullopt);
  EXPECT_EQ(IsaFromName(""), std::nullopt);
}

TEST(IsaTest, DefaultMaskHoldsScalarAndEveryIsaUnlessCapped) {
  EXPECT_NE(DefaultAllowedIsas() & IsaBit(Isa::kScalar), 0u);
  const char* cap = std::getenv("VINDEX_ISA");
  const std::optional<Isa> capped =
      cap != nullptr ? IsaFromName(cap) : std::nullopt;
  if (!capped.has_value()) {
    EXPECT_EQ(DefaultAllowedIsas(), kAllIsas);
  } else {
    EXPECT_EQ(DefaultAllowedIsas(), (IsaBit(*capped) << 1) - 1);
  }
}

#if defined(__x86_64__) || defined(__i386__)
// The cpuid bits and register state of isa_table.def, checked against
// GCC's and Clang's CPU model (which also asks the OS about the registers).
TEST(IsaTest, CpuCheckAgreesWithCompilerBuiltins) {
  __builtin_cpu_init();
  const bool avx2 =
      __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
      __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
      __builtin_cpu_supports("lzcnt") && __builtin_cpu_supports("popcnt");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl");
  EXPECT_NE(CpuIsas() & IsaBit(Isa::kScalar), 0u);
  EXPECT_EQ((CpuIsas() & IsaBit(Isa::kAvx2)) != 0, avx2);
  EXPECT_EQ((CpuIsas() & IsaBit(Isa::kAvx512)) != 0, avx512);
}
#endif

}  // namespace
}  // namespace vindex::kernels
