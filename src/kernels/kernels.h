#ifndef VINDEX_SRC_KERNELS_KERNELS_H_
#define VINDEX_SRC_KERNELS_KERNELS_H_

// The CPU kernel table. Each ISA (scalar, avx2, avx512) provides the
// same kernels in its own namespace and file, compiled with its own flags;
// dispatch.cc picks one table once, at first use. scalar.cc is the reference
// and the executable specification: every other ISA must match it (exactly
// for integer kernels, within float rounding for float kernels).
//
// Contracts shared by all kernels:
// - Pointers need no particular alignment; nothing is read past the last
//   element described by the arguments.
// - `d` >= 1; `n` >= 0. `stride` is in elements, >= d.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vindex::kernels {

enum class Isa : int { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

struct KernelTable {
  Isa isa;
  const char* name;

  // Squared L2 distance between a and b.
  float (*l2_sqr)(const float* a, const float* b, size_t d);
  // Inner product <a, b>.
  float (*inner_product)(const float* a, const float* b, size_t d);
  // out[i] = l2_sqr(q, rows + i * stride) for i in [0, n).
  void (*l2_sqr_rows)(const float* q, const float* rows, size_t n, size_t d,
                      size_t stride, float* out);
  // out[i] = inner_product(q, rows + i * stride) for i in [0, n).
  void (*inner_product_rows)(const float* q, const float* rows, size_t n,
                             size_t d, size_t stride, float* out);
  // out[i] = norms[i] - 2 * ip[i] (+ qnorm), the GEMM-to-L2 step; may alias.
  void (*l2_from_ip)(const float* ip, const float* norms, float qnorm, size_t n,
                     float* out);
  // The filter step of top-k: writes to out_idx, in increasing order, every
  // i in [0, n) with dist[i] <= threshold, and returns how many there were.
  // out_idx must have room for n entries. NaN never passes.
  size_t (*threshold_filter)(const float* dist, size_t n, float threshold,
                             uint32_t* out_idx);
  // The rank step of top-k compaction: less[i] = #{j < n : dist[j] <
  // dist[i]} for i in [0, n) (NaN compares false). n^2 comparisons, no
  // branch: meant for small buffers (TopK uses it up to
  // TopK::kRankMaxEntries). Every ISA equals scalar exactly.
  void (*count_less)(const float* dist, size_t n, uint32_t* less);
  // The selection step of top-k compaction: the value at position k (k < n)
  // of dist[0, n) sorted ascending. dist holds no NaN and is not changed;
  // scratch holds 3 * (n + 16) floats. Every ISA returns a value equal (==)
  // to scalar's (when both -0 and +0 are present either may come back).
  float (*kth_smallest)(const float* dist, size_t n, size_t k, float* scratch);
};

// The table of the best ISA this machine and build support, capped by the
// environment variable VINDEX_ISA. Resolved once, thread-safely.
const KernelTable& Active();

// The ISA of Active(). Kernel tables of other concerns (kernels/pq_kernels.h,
// kernels/sq_kernels.h, ...) follow the same pattern: files scalar_X.cc,
// avx2_X.cc, avx512_X.cc each define a table, and the concern's own Active()
// returns the one for ActiveIsa() (falling back to scalar where an ISA file
// does not exist).
Isa ActiveIsa();

// The table for one ISA, or nullptr when this build or this CPU lacks it.
// Tests use it to run every available ISA against scalar.
const KernelTable* ForIsa(Isa isa);

std::string_view IsaName(Isa isa);

// CPU feature detection (cpuid + xgetbv on x86; always false elsewhere).
bool CpuHasAvx2Fma();
bool CpuHasAvx512();

// Per-ISA tables, defined in their own files.
namespace scalar {
const KernelTable& Table();
}  // namespace scalar
namespace avx2 {
const KernelTable& Table();
}
namespace avx512 {
const KernelTable& Table();
}

}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_KERNELS_H_
