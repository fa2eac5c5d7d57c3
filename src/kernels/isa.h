#ifndef VINDEX_SRC_KERNELS_ISA_H_
#define VINDEX_SRC_KERNELS_ISA_H_

// Instruction sets the kernels come in, as listed in isa_table.def, and what
// this build and this CPU can run.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

namespace vindex::kernels {

// One enumerator per row of isa_table.def, from the baseline up.
enum class Isa : int {
#define VINDEX_ISA(name, enumerator, ...) enumerator,
#include "kernels/isa_table.def"
#undef VINDEX_ISA
};

// Every ISA, from the baseline up.
inline constexpr Isa kIsas[] = {
#define VINDEX_ISA(name, enumerator, ...) Isa::enumerator,
#include "kernels/isa_table.def"
#undef VINDEX_ISA
};

inline constexpr size_t kIsaCount = std::size(kIsas);

// A set of ISAs, one bit per Isa; dispatch picks the best ISA of a mask.
using IsaMask = uint32_t;

constexpr IsaMask IsaBit(Isa isa) {
  return IsaMask{1} << static_cast<int>(isa);
}

inline constexpr IsaMask kAllIsas = (IsaMask{1} << kIsaCount) - 1;

// "scalar", "avx2", ... as in isa_table.def (and in VINDEX_ISA).
std::string_view IsaName(Isa isa);
// The ISA of that name, if there is one.
std::optional<Isa> IsaFromName(std::string_view name);

// The ISAs this CPU (and its OS) can run, whether or not this build has
// kernels for them; scalar is always among them. Detected once.
IsaMask CpuIsas();

// Every ISA up to the one named by the environment variable VINDEX_ISA
// (unset or unknown: every ISA). Read once.
IsaMask DefaultAllowedIsas();

}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_ISA_H_
