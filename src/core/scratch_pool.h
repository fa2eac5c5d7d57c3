#ifndef VINDEX_SRC_CORE_SCRATCH_POOL_H_
#define VINDEX_SRC_CORE_SCRATCH_POOL_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace vindex::internal {

// A pooled scratch keeps buffers up to this size between queries; larger
// ones (grown by one query with a huge ef, nprobe or k) are freed when the
// scratch returns to the pool, so one request cannot pin memory for good.
inline constexpr size_t kMaxPooledBufferBytes = size_t{1} << 20;

// Frees `v`'s storage if its capacity is above `max_bytes`.
template <typename V>
void ReleaseIfAbove(V& v, size_t max_bytes = kMaxPooledBufferBytes) {
  if (v.capacity() * sizeof(typename V::value_type) > max_bytes) V().swap(v);
}

// A growable pool of per-query scratch objects (visited sets, heaps, lookup
// tables). Acquire() hands out a free object or makes a new one; the handle
// returns it on destruction, first calling its Trim() if T has one (T frees
// oversized buffers there, see ReleaseIfAbove). There are never slots
// indexed by thread.
// Thread safety: Acquire may be called concurrently; the pool must outlive
// its handles.
template <typename T>
class ScratchPool {
 public:
  class Handle {
   public:
    Handle(ScratchPool* pool, std::unique_ptr<T> obj)
        : pool_(pool), obj_(std::move(obj)) {}
    Handle(Handle&&) = default;
    Handle& operator=(Handle&&) = default;
    ~Handle() {
      if (obj_) pool_->Release(std::move(obj_));
    }
    T* get() const { return obj_.get(); }
    T* operator->() const { return obj_.get(); }
    T& operator*() const { return *obj_; }

   private:
    ScratchPool* pool_;
    std::unique_ptr<T> obj_;
  };

  Handle Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        std::unique_ptr<T> obj = std::move(free_.back());
        free_.pop_back();
        return Handle(this, std::move(obj));
      }
      // Room on the free list for every object made, so that Release, which
      // runs in a destructor, never allocates (a bad_alloc there would end
      // the process).
      free_.reserve(made_ + 1);
      ++made_;
    }
    return Handle(this, std::make_unique<T>());
  }

 private:
  void Release(std::unique_ptr<T> obj) noexcept {
    if constexpr (requires(T & t) { t.Trim(); }) obj->Trim();
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(obj));
  }
  std::mutex mu_;
  std::vector<std::unique_ptr<T>> free_;
  size_t made_ = 0;  // Objects handed out new; free_ has room for all.
};

}  // namespace vindex::internal

#endif  // VINDEX_SRC_CORE_SCRATCH_POOL_H_
