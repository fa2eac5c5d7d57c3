#include "device_allocator.h"

#include <cuda_runtime_api.h>

#include "absl/strings/str_cat.h"
#include "cuda_status.h"

namespace vindex::cuda {
namespace {

// Rounds requests so that blocks are reusable across slightly different
// sizes: 512 bytes below 1 MiB, 2 MiB above.
size_t RoundUp(size_t bytes) {
  const size_t unit = bytes < (size_t{1} << 20) ? 512 : (size_t{2} << 20);
  return (bytes + unit - 1) / unit * unit;
}

}  // namespace

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    Reset();
    owner_ = other.owner_;
    ptr_ = other.ptr_;
    size_ = other.size_;
    other.owner_ = nullptr;
    other.ptr_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void DeviceBuffer::Reset() {
  if (owner_ != nullptr && ptr_ != nullptr) owner_->Return(ptr_, size_);
  owner_ = nullptr;
  ptr_ = nullptr;
  size_ = 0;
}

DeviceAllocator::~DeviceAllocator() {
  std::lock_guard<std::mutex> lock(mu_);
  ReleaseCacheLocked();
}

absl::StatusOr<DeviceBuffer> DeviceAllocator::Allocate(size_t bytes) {
  DeviceBuffer buffer;
  if (bytes == 0) return buffer;
  const size_t size = RoundUp(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cached_.lower_bound(size);
  if (it != cached_.end() && it->first <= 2 * size) {
    buffer.owner_ = this;
    buffer.size_ = it->first;
    buffer.ptr_ = it->second;
    in_use_ += it->first;
    cached_.erase(it);
    return buffer;
  }
  if (held_ + size > cap_) ReleaseCacheLocked();
  if (held_ + size > cap_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("GPU memory cap reached: ", size, " bytes requested, ",
                     in_use_, " of ", cap_, " bytes in use"));
  }
  VINDEX_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
  void* ptr = nullptr;
  cudaError_t err = cudaMalloc(&ptr, size);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // Clear the sticky-free error state.
    ReleaseCacheLocked();
    err = cudaMalloc(&ptr, size);
  }
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return CudaToStatus(err, "cudaMalloc", __FILE__, __LINE__);
  }
  held_ += size;
  in_use_ += size;
  buffer.owner_ = this;
  buffer.ptr_ = ptr;
  buffer.size_ = size;
  return buffer;
}

void DeviceAllocator::Return(void* ptr, size_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  in_use_ -= size;
  cached_.emplace(size, ptr);
}

void DeviceAllocator::ReleaseCache() {
  std::lock_guard<std::mutex> lock(mu_);
  ReleaseCacheLocked();
}

void DeviceAllocator::ReleaseCacheLocked() {
  if (cached_.empty()) return;
  (void)cudaSetDevice(device_);
  for (auto& [size, ptr] : cached_) {
    (void)cudaFree(ptr);  // Nothing useful to do on failure.
    held_ -= size;
  }
  cached_.clear();
}

uint64_t DeviceAllocator::bytes_held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

uint64_t DeviceAllocator::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

}  // namespace vindex::cuda
