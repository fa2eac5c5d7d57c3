// Reference 8-bit code and fp16 kernels: the executable specification every
// other ISA is tested against.
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

uint32_t L2SqrU4(const uint8_t* q, const uint8_t* c, size_t p) {
  uint32_t s = 0;
  for (size_t j = 0; j < p; ++j) {
    const int32_t lo = static_cast<int32_t>(q[j]) - (c[j] & 15);
    const int32_t hi = static_cast<int32_t>(q[p + j]) - (c[j] >> 4);
    s += static_cast<uint32_t>(lo * lo + hi * hi);
  }
  return s;
}

uint32_t DotU8U4(const uint8_t* q, const uint8_t* c, size_t p) {
  uint32_t s = 0;
  for (size_t j = 0; j < p; ++j)
    s += static_cast<uint32_t>(q[j]) * (c[j] & 15) +
         static_cast<uint32_t>(q[p + j]) * (c[j] >> 4);
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
}  // namespace scalar

template <>
const SqKernelTable IsaTable<SqKernelTable, Isa::kScalar>::kTable = {
    .isa = Isa::kScalar,
    .l2_sqr_u8 = &scalar::L2SqrU8,
    .dot_u8 = &scalar::DotU8,
    .l2_sqr_u4 = &scalar::L2SqrU4,
    .dot_u8_u4 = &scalar::DotU8U4,
    .l2_sqr_f16 = &scalar::L2SqrF16,
    .ip_f16 = &scalar::IpF16,
};

}  // namespace vindex::kernels
