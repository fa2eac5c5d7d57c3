#ifndef VINDEX_SRC_IO_CRC32C_H_
#define VINDEX_SRC_IO_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace vindex::io {

// CRC-32C (Castagnoli) of data, continuing from `crc` (0 to start). Uses the
// SSE4.2 instruction when the CPU has it, a table otherwise; both agree.
uint32_t Crc32c(uint32_t crc, const void* data, size_t size);

// The table version alone (the reference the fast path is tested against).
uint32_t Crc32cPortable(uint32_t crc, const void* data, size_t size);

}  // namespace vindex::io

#endif  // VINDEX_SRC_IO_CRC32C_H_
