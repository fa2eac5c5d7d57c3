#ifndef VINDEX_CUDA_DEVICE_ALLOCATOR_H_
#define VINDEX_CUDA_DEVICE_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

#include "absl/status/statusor.h"

namespace vindex::cuda {

class DeviceAllocator;

// An owned block of device memory. It goes back to its allocator's cache
// when destroyed or reset (never to the driver directly). Move-only.
// Thread safety: a buffer is used by one thread at a time.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer&& other) noexcept { *this = std::move(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { Reset(); }

  void* get() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  size_t size() const { return size_; }  // Usable bytes (>= requested).
  void Reset();

 private:
  friend class DeviceAllocator;
  DeviceAllocator* owner_ = nullptr;
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

// A caching device allocator with a hard cap. Freed blocks are kept and
// reused for requests of a similar size (within 2x), so a steady search load
// allocates nothing from the driver. Bytes held (in use + cached) never
// exceed the cap: a request that would is met by first releasing cached
// blocks and otherwise fails with ResourceExhausted, as does a failed
// cudaMalloc. The allocator owns every block it handed out and must outlive
// them. Thread safety: all methods may be called concurrently.
class DeviceAllocator {
 public:
  DeviceAllocator(int device, uint64_t cap_bytes)
      : device_(device), cap_(cap_bytes) {}
  ~DeviceAllocator();
  DeviceAllocator(const DeviceAllocator&) = delete;
  DeviceAllocator& operator=(const DeviceAllocator&) = delete;

  // A block of at least `bytes` bytes (an empty buffer for 0 bytes).
  absl::StatusOr<DeviceBuffer> Allocate(size_t bytes);
  // Gives every cached (unused) block back to the driver.
  void ReleaseCache();

  uint64_t cap() const { return cap_; }
  uint64_t bytes_held() const;
  uint64_t bytes_in_use() const;

 private:
  friend class DeviceBuffer;
  void Return(void* ptr, size_t size);
  void ReleaseCacheLocked();

  const int device_;
  const uint64_t cap_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> cached_;  // size -> block.
  uint64_t held_ = 0;                    // In use + cached.
  uint64_t in_use_ = 0;
};

}  // namespace vindex::cuda

#endif  // VINDEX_CUDA_DEVICE_ALLOCATOR_H_
