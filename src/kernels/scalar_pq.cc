// Scalar PQ kernels: the reference every other ISA is tested against.
#include <cstddef>
#include <cstdint>

#include "kernels/pq_kernels.h"

namespace vindex::kernels::scalar {
namespace {

void Scan8(const float* lut, const uint8_t* codes, size_t n, size_t m,
           float* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* c = codes + i * m;
    float s = 0.0f;
    for (size_t j = 0; j < m; ++j) s += lut[j * 256 + c[j]];
    out[i] = s;
  }
}

void Scan4FastScan(const uint8_t* codes, size_t blocks, size_t pairs,
                   const uint8_t* lut, uint16_t* out) {
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* block = codes + b * pairs * 32;
    for (size_t v = 0; v < kFastScanBlock; ++v) {
      const size_t t = v & 15;
      const int shift = v < 16 ? 0 : 4;
      uint32_t sum = 0;
      for (size_t p = 0; p < pairs; ++p) {
        const uint8_t* pc = block + p * 32;
        const uint8_t* pl = lut + p * 32;
        sum += pl[(pc[t] >> shift) & 15];
        sum += pl[16 + ((pc[16 + t] >> shift) & 15)];
      }
      out[b * kFastScanBlock + v] = static_cast<uint16_t>(sum);
    }
  }
}

}  // namespace

const pq::Table& PqTable() {
  static const pq::Table table{Isa::kScalar, "scalar", &Scan8, &Scan4FastScan};
  return table;
}

}  // namespace vindex::kernels::scalar
