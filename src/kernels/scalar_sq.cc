// Reference 8-bit code kernels, and the choice of the active SQ table.
#include <cstddef>
#include <cstdint>

#include "kernels/sq_kernels.h"

namespace vindex::kernels {
namespace scalar {
namespace {

uint32_t L2SqrU8(const uint8_t* a, const uint8_t* b, size_t d) {
  uint32_t s = 0;
  for (size_t j = 0; j < d; ++j) {
    const int32_t t = static_cast<int32_t>(a[j]) - static_cast<int32_t>(b[j]);
    s += static_cast<uint32_t>(t * t);
  }
  return s;
}

uint32_t DotU8(const uint8_t* a, const uint8_t* b, size_t d) {
  uint32_t s = 0;
  for (size_t j = 0; j < d; ++j) s += static_cast<uint32_t>(a[j]) * b[j];
  return s;
}

float L2SqrF16(const float* q, const uint16_t* x, size_t d) {
  float s = 0;
  for (size_t j = 0; j < d; ++j) {
    const float t = q[j] - HalfToFloat(x[j]);
    s += t * t;
  }
  return s;
}

float IpF16(const float* q, const uint16_t* x, size_t d) {
  float s = 0;
  for (size_t j = 0; j < d; ++j) s += q[j] * HalfToFloat(x[j]);
  return s;
}

}  // namespace

const SqKernelTable& SqTable() {
  static const SqKernelTable table{Isa::kScalar, "scalar",  &L2SqrU8,
                                   &DotU8,       &L2SqrF16, &IpF16};
  return table;
}

}  // namespace scalar

namespace sq {

const SqKernelTable* ForIsa(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return &scalar::SqTable();
    case Isa::kAvx2:
#if defined(VINDEX_HAVE_AVX2)
      if (CpuHasAvx2Fma()) return &avx2::SqTable();
#endif
      return nullptr;
    case Isa::kAvx512:
#if defined(VINDEX_HAVE_AVX512)
      if (CpuHasAvx512()) return &avx512::SqTable();
#endif
      return nullptr;
  }
  return nullptr;
}

const SqKernelTable& Active() {
  static const SqKernelTable& table = []() -> const SqKernelTable& {
    const SqKernelTable* t = sq::ForIsa(ActiveIsa());
    return t != nullptr ? *t : scalar::SqTable();
  }();
  return table;
}

}  // namespace sq
}  // namespace vindex::kernels
