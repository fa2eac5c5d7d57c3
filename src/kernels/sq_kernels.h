#ifndef VINDEX_SRC_KERNELS_SQ_KERNELS_H_
#define VINDEX_SRC_KERNELS_SQ_KERNELS_H_

// Kernels for compressed copies walked by HNSW: 8-bit scalar-quantized codes
// and IEEE half-precision (fp16) vectors. Same pattern as kernels.h:
// scalar_sq.cc is the reference; avx2_sq.cc and avx512_sq.cc must match it
// exactly for the integer kernels and within float rounding for the fp16
// ones; the dispatcher (dispatch.h) picks one.
//
// Contracts: 1 <= d (<= kSqMaxDim for the 8-bit kernels, so every sum fits
// in 32 bits; p <= kSqMaxDim / 2 for the 4-bit ones); pointers need no
// alignment; nothing is read past element d-1 (byte p-1 of a 4-bit code,
// element 2p-1 of its query).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/dispatch.h"
#include "kernels/isa.h"

namespace vindex::kernels {

// 255^2 * 65536 < 2^32.
inline constexpr size_t kSqMaxDim = 65536;

struct SqKernelTable {
  Isa isa;
  // sum_j (a[j] - b[j])^2.
  uint32_t (*l2_sqr_u8)(const uint8_t* a, const uint8_t* b, size_t d);
  // sum_j a[j] * b[j].
  uint32_t (*dot_u8)(const uint8_t* a, const uint8_t* b, size_t d);
  // 4-bit codes of p bytes: byte j holds element j in its low nibble and
  // element p + j in its high nibble. q holds 2p elements, one per byte.
  // sum_j (q[j] - lo(c[j]))^2 + (q[p + j] - hi(c[j]))^2, q[i] <= 15.
  uint32_t (*l2_sqr_u4)(const uint8_t* q, const uint8_t* c, size_t p);
  // sum_j q[j] * lo(c[j]) + q[p + j] * hi(c[j]), q[i] <= 255.
  uint32_t (*dot_u8_u4)(const uint8_t* q, const uint8_t* c, size_t p);
  // sum_j (q[j] - HalfToFloat(x[j]))^2.
  float (*l2_sqr_f16)(const float* q, const uint16_t* x, size_t d);
  // sum_j q[j] * HalfToFloat(x[j]).
  float (*ip_f16)(const float* q, const uint16_t* x, size_t d);
};

// IEEE binary16 -> float (exact).
inline float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  if (exp == 0) {  // Zero or subnormal: man * 2^-24.
    const float f = static_cast<float>(man) * 0x1p-24f;
    return sign ? -f : f;
  }
  const uint32_t bits = exp == 31 ? sign | 0x7f800000u | (man << 13)
                                  : sign | ((exp + 112) << 23) | (man << 13);
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// float -> IEEE binary16, rounding to nearest even. Finite values beyond the
// half range (and NaN) saturate to +-65504, so a stored copy stays finite.
inline uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof(x));
  const uint32_t sign = (x >> 16) & 0x8000u;
  const float a = std::fabs(f);
  if (!(a < 65520.0f)) return static_cast<uint16_t>(sign | 0x7bffu);
  if (a < 0x1p-14f) {  // Subnormal (or zero); 1024 encodes the smallest normal.
    return static_cast<uint16_t>(
        sign | static_cast<uint32_t>(std::nearbyint(a * 0x1p24f)));
  }
  uint32_t ax;
  std::memcpy(&ax, &a, sizeof(ax));
  const uint32_t exp = (ax >> 23) - 127 + 15;
  const uint32_t man = ax & 0x7fffffu;
  uint32_t h = (exp << 10) | (man >> 13);
  const uint32_t rest = man & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
    ++h;  // Carries into exp.
  return static_cast<uint16_t>(sign | h);
}

namespace sq {
// Select<SqKernelTable>(DefaultAllowedIsas()), resolved once.
const SqKernelTable& Active();
}  // namespace sq

#define VINDEX_ISA(name, enumerator, ...) \
  template <>                             \
  const SqKernelTable IsaTable<SqKernelTable, Isa::enumerator>::kTable;
#include "kernels/isa_table.def"
#undef VINDEX_ISA

}  // namespace vindex::kernels

#endif  // VINDEX_SRC_KERNELS_SQ_KERNELS_H_
