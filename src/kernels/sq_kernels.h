#ifndef VINDEX_SRC_KERNELS_SQ_KERNELS_H_
#define VINDEX_SRC_KERNELS_SQ_KERNELS_H_

// Kernels for 8-bit scalar-quantized codes (HNSW quantized traversal). Same
// pattern as kernels.h: scalar_sq.cc is the reference, avx2_sq.cc and
// avx512_sq.cc must match it exactly (integer arithmetic), and Active()
// follows kernels::ActiveIsa().
//
// Contracts: 1 <= d <= kSqMaxDim so every sum fits in 32 bits; pointers need
// no alignment; nothing is read past a[d - 1] or b[d - 1].

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace vindex::kernels {

// 255^2 * 65536 < 2^32.
inline constexpr size_t kSqMaxDim = 65536;

struct SqKernelTable {
  Isa isa;
  const char* name;
  // sum_j (a[j] - b[j])^2.
  uint32_t (*l2_sqr_u8)(const uint8_t* a, const uint8_t* b, size_t d);
  // sum_j a[j] * b[j].
  uint32_t (*dot_u8)(const uint8_t* a, const uint8_t* b, size_t d);
};

namespace sq {
// The table for kernels::ActiveIsa() (scalar where that ISA has no file).
const SqKernelTable& Active();
// The table for one ISA, or nullptr when this build or CPU lacks it.
const SqKernelTable* ForIsa(Isa isa);
}  // namespace sq

namespace scalar {
const SqKernelTable& SqTable();
}
namespace avx2 {
const SqKernelTable& SqTable();
}
namespace avx512 {
const SqKernelTable& SqTable();
}

}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_SQ_KERNELS_H_
